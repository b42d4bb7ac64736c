/**
 * The worker as an app factory: `createWorker(deps)` wires, for every shard it is given, the
 * per-queue fetch loops, settling, heartbeats, presence and rescue and a LISTEN connection
 * (shard-drain.ts), and for the replica as a whole the slots (p-limit, shared fairly between the
 * shards: fair-share.ts), the job handlers, health and metrics. `main.ts` gives it real
 * dependencies; tests give it a test database (one shard) or several.
 *
 * `/readyz` answers 200 while at least one shard answers: a replica with one shard down still
 * drains the others, so taking it out of service would only lose that work. WORKER_DB_POOL_SIZE
 * is per shard (each shard's pg-boss has its own pool, checked against the queues below).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type Config,
  createQueueStatsExporter,
  getTaskDefinition,
  healthRoutes,
  type Logger,
  metricsRoute,
  ping,
  ShardSet,
  taskNames,
  trackResource,
} from '@taskfleet/core';
import { Hono } from 'hono';
import type { PgBoss } from 'pg-boss';
import type { Registry } from 'prom-client';
import { coerceError, ShutdownError } from './errors.ts';
import { WorkerEvents } from './events.ts';
import { FairShare } from './fair-share.ts';
import { createHandlers, type Handlers } from './handlers/index.ts';
import type { HandlerEntry } from './handlers/types.ts';
import { observeWorker } from './metrics.ts';
import { ShardDrain } from './shard-drain.ts';
import { Slots } from './slots.ts';

export interface WorkerDeps {
  config: Config;
  /** The home shard's pg-boss (the only one when `shards` is not given). */
  boss: PgBoss;
  /** Every shard this replica drains; default `ShardSet.of(boss)`. */
  shards?: ShardSet;
  logger: Logger;
  metrics: Registry;
  /** Extra handlers (tests register their own task types' handlers here). */
  handlers?: HandlerEntry[];
  /** Replica name shown in `taskfleet.workers` (default: host name and pid). */
  replica?: string;
}

export interface Worker {
  /** The worker's own HTTP surface: /healthz, /readyz, /metrics. */
  readonly http: Hono;
  readonly events: WorkerEvents;
  readonly slots: Slots;
  readonly queues: string[];
  start(): Promise<void>;
  /** Stop claiming, let running jobs finish for up to `graceSeconds`, abort the rest into retry. */
  stop(graceSeconds?: number): Promise<void>;
}

/** Connections a replica needs: one fetch per queue, settling, failures, heartbeats, maintenance. */
export function connectionsNeeded(queues: number): number {
  return queues + 4;
}

/** The queues this replica drains (WORKER_QUEUES, else every task type), checked against its pool (one per shard). */
function queuesOf(config: Config): string[] {
  const queues = config.worker.queues ?? taskNames();
  const unknown = queues.filter((q) => !getTaskDefinition(q));
  if (unknown.length) throw new Error(`WORKER_QUEUES names unknown queue(s): ${unknown.join(', ')}`);
  if (config.worker.poolSize < connectionsNeeded(queues.length)) {
    throw new Error(
      `WORKER_DB_POOL_SIZE=${config.worker.poolSize} is too small for ${queues.length} queue(s): a replica needs at least ${connectionsNeeded(queues.length)} connections (one fetch loop per queue + 4) per shard`,
    );
  }
  return queues;
}

/** Errors carry the queue, and the shard when there are several (job ids are on the runner's own logs). */
function logWorkerEvents(events: WorkerEvents, logger: Logger): void {
  events.on('fetch:error', ({ queue, error, shard }) => logger.warn({ queue, shard, err: error }, 'fetch failed; backing off'));
  events.on('settle:error', ({ queue, error, shard }) => logger.warn({ queue, shard, err: error }, 'settling failed'));
  events.on('job:abandoned', ({ queue, id, shard }) =>
    logger.error({ queue, shard, jobId: id }, 'handler ignored its abort signal; slot released and job failed'),
  );
}

/** Let held jobs finish for up to `graceSeconds`, then abort the rest back into their queues. */
async function drainWithGrace(drains: ShardDrain[], graceSeconds: number, logger: Logger): Promise<void> {
  const drainAll = (abort?: Error) => Promise.all(drains.map((d) => d.owner.drain(abort)));
  const graceful = await Promise.race([
    drainAll().then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), graceSeconds * 1000).unref()),
  ]);
  if (!graceful) {
    const running = drains.reduce((n, d) => n + d.runner.running.size, 0);
    logger.warn({ running }, 'grace period over: aborting running jobs back into their queues');
    await drainAll(new ShutdownError());
  }
}

/** Ready while at least one shard answers (its loops drain while the others are down). */
function pingAny(shards: ShardSet): () => Promise<void> {
  if (!shards.sharded) return () => ping(shards.home.executeSql);
  return async () => {
    try {
      await Promise.any(shards.all.map((s) => ping(s.executeSql)));
    } catch (err) {
      const causes = err instanceof AggregateError ? err.errors.map((e) => coerceError(e).message) : [String(err)];
      throw new Error(`no shard answers: ${causes.join('; ')}`);
    }
  };
}

export function createWorker(deps: WorkerDeps): Worker {
  const { config, logger } = deps;
  const shards = deps.shards ?? ShardSet.of(deps.boss);
  const queues = queuesOf(config);
  /** This process's id on the jobs it claims and on its presence rows (a restart is a new one). */
  const incarnation = randomUUID();
  const replica = deps.replica ?? config.worker.id ?? `${hostname()}-${process.pid}`;
  const events = new WorkerEvents();
  const slots = new Slots(config.worker.concurrency, config.worker.criticalReservedSlots, config.worker.queueConcurrency);
  const home = shards.home.executeSql;
  const others = (first: ShardSet['home']) => [first, ...shards.all.filter((s) => s !== first)].map((s) => s.executeSql);
  const handlers: Handlers = createHandlers(config, deps.handlers, home, shards.sharded ? (id) => others(shards.forTaskId(id)) : undefined);
  const share = shards.sharded ? new FairShare(slots.total) : undefined;
  const drains = shards.all.map(
    (shard) =>
      new ShardDrain({
        shard,
        share,
        config,
        queues,
        slots,
        handlers,
        events,
        logger: shards.sharded ? logger.child({ shard: shard.id }) : logger,
        incarnation,
        replica,
      }),
  );
  let draining = false;
  let started = false;
  let release: (() => void) | undefined;

  observeWorker(deps.metrics, events, slots, queues);
  const queueStats = createQueueStatsExporter({ config, shards, registry: deps.metrics, logger });
  logWorkerEvents(events, logger);

  const http = new Hono();
  http.route('/', healthRoutes({ pingDatabase: pingAny(shards), isDraining: () => draining || !started }));
  http.route('/', metricsRoute(deps.metrics));

  return {
    http,
    events,
    slots,
    queues,
    async start() {
      if (started) return;
      started = true;
      release = trackResource('worker', `worker:${queues.join(',')}`);
      await Promise.all(drains.map((d) => d.start()));
      queueStats.start();
      const at = shards.sharded ? { shards: shards.all.map((s) => s.id) } : {};
      logger.info({ queues, concurrency: slots.total, reservedCritical: slots.reserved, ...at }, 'worker started');
    },
    async stop(graceSeconds = config.worker.shutdownGraceSeconds) {
      if (!started || draining) return;
      draining = true;
      await Promise.all(drains.map((d) => d.stopClaiming()));
      // Settle statements may have claimed successors before the loops stopped: the owners wait for those too.
      await drainWithGrace(drains, graceSeconds, logger);
      await queueStats.stop();
      await Promise.all(drains.map((d) => d.close()));
      await handlers.close();
      release?.();
      logger.info('worker stopped');
    },
  };
}
