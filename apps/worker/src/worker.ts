/**
 * The worker as an app factory: `createWorker(deps)` wires the per-queue fetch loops, the slots
 * (p-limit), the job runner, batched settling, heartbeats, LISTEN/NOTIFY wake-ups, health and
 * metrics. `main.ts` gives it real dependencies; tests give it a test database.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type Config,
  executorOf,
  getTaskDefinition,
  healthRoutes,
  type Logger,
  metricsRoute,
  PGBOSS_SCHEMA,
  createQueueStatsExporter,
  taskNames,
  trackResource,
} from '@taskfleet/core';
import { Hono } from 'hono';
import pLimit from 'p-limit';
import type { PgBoss } from 'pg-boss';
import type { Registry } from 'prom-client';
import { coerceError, ShutdownError } from './errors.ts';
import { WorkerEvents } from './events.ts';
import { createHandlers, type Handlers } from './handlers/index.ts';
import type { HandlerEntry } from './handlers/types.ts';
import { JobRunner } from './job-runner.ts';
import { observeWorker } from './metrics.ts';
import { Presence } from './presence.ts';
import { QueueLoop } from './queue-loop.ts';
import { Settler } from './settler.ts';
import { Slots } from './slots.ts';
import { type ClaimedJob, claimJobs, completeAndClaim } from './sql/claim.ts';

export interface WorkerDeps {
  config: Config;
  boss: PgBoss;
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

/** pg-boss's NOTIFY channel for a schema (the payload is the queue name). */
export function notifyChannel(schema = PGBOSS_SCHEMA): string {
  return `pgboss_${createHash('sha224').update(schema).digest('hex').slice(0, 24)}`;
}

/** Connections a replica needs: one fetch per queue, settling, failures, heartbeats, maintenance. */
export function connectionsNeeded(queues: number): number {
  return queues + 4;
}

export function createWorker(deps: WorkerDeps): Worker {
  const { config, boss, logger } = deps;
  const queues = config.worker.queues ?? taskNames();
  const unknown = queues.filter((q) => !getTaskDefinition(q));
  if (unknown.length) throw new Error(`WORKER_QUEUES names unknown queue(s): ${unknown.join(', ')}`);
  if (config.worker.poolSize < connectionsNeeded(queues.length)) {
    throw new Error(
      `WORKER_DB_POOL_SIZE=${config.worker.poolSize} is too small for ${queues.length} queue(s): a replica needs at least ${connectionsNeeded(queues.length)} connections (one fetch loop per queue + 4)`,
    );
  }
  const db = boss.getDb();
  const executeSql = executorOf(boss);
  const events = new WorkerEvents();
  const slots = new Slots(config.worker.concurrency, config.worker.criticalReservedSlots, config.worker.queueConcurrency);
  const handlers: Handlers = createHandlers(config, deps.handlers);
  const settler = new Settler((queue, items, claim) => completeAndClaim(executeSql, queue, items, claim), config.worker.settleBatch, {
    limitFor: (queue, freed) => loops.get(queue)?.refillLimit(freed) ?? 0,
    accept: (queue, jobs) => loops.get(queue)?.accept(jobs),
  });
  const runner = new JobRunner({ config, boss, executeSql, handlers, settler, events, logger });
  const limit = pLimit(config.worker.concurrency);
  const inflight = new Set<Promise<void>>();
  let draining = false;
  let started = false;
  let listener: { close(): Promise<void> } | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let release: (() => void) | undefined;

  const dispatch = (queue: string) => (job: ClaimedJob, critical: boolean) => {
    const p: Promise<void> = limit(() => runner.run(queue, job))
      .catch((err: unknown) => logger.error({ err: coerceError(err), queue, jobId: job.id }, 'job runner failed'))
      .finally(() => {
        inflight.delete(p);
        slots.release(queue, critical);
      });
    inflight.add(p);
  };
  const loops = new Map(
    queues.map((queue) => [
      queue,
      new QueueLoop({
        queue,
        claim: (q, limit, minPriority) => claimJobs(executeSql, q, limit, minPriority),
        slots,
        events,
        fetchBatch: config.worker.fetchBatch,
        pollIntervalMs: config.worker.pollIntervalMs,
        dispatch: dispatch(queue),
      }),
    ]),
  );

  observeWorker(deps.metrics, events, slots, queues);
  const queueStats = createQueueStatsExporter({ config, executeSql, registry: deps.metrics, logger });
  const presence = new Presence({
    executeSql,
    logger,
    id: deps.replica ?? config.worker.id ?? `${hostname()}-${process.pid}`,
    queues,
    concurrency: slots.total,
    active: () => slots.active,
    intervalMs: config.queueStatsIntervalSeconds * 1000,
  });
  events.on('fetch:error', ({ queue, error }) => logger.warn({ queue, err: error }, 'fetch failed; backing off'));
  events.on('settle:error', ({ queue, error }) => logger.warn({ queue, err: error }, 'settling failed'));
  events.on('job:abandoned', ({ queue, id }) =>
    logger.error({ queue, jobId: id }, 'handler ignored its abort signal; slot released and job failed'),
  );

  /** Touch running jobs whose queue expects heartbeats, at half their interval. */
  async function beat(): Promise<void> {
    const now = Date.now();
    const due = new Map<string, { id: string; retryCount: number }[]>();
    for (const job of runner.running.values()) {
      if (!job.heartbeatSeconds || now - job.lastTouch < (job.heartbeatSeconds * 1000) / 2) continue;
      job.lastTouch = now;
      const list = due.get(job.queue) ?? [];
      list.push({ id: job.id, retryCount: job.retryCount });
      due.set(job.queue, list);
    }
    for (const [queue, attempts] of due) {
      await boss.touch(queue, attempts).catch((err: unknown) => logger.warn({ err: coerceError(err), queue }, 'heartbeat failed'));
    }
  }

  const http = new Hono();
  http.route('/', healthRoutes({ pingDatabase: async () => void (await executeSql('SELECT 1')), isDraining: () => draining || !started }));
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
      if (db.listen) {
        try {
          listener = await db.listen(
            notifyChannel(),
            (queue) => loops.get(queue)?.wake(),
            () => {
              for (const loop of loops.values()) loop.wake();
            },
          );
        } catch (err) {
          logger.warn({ err: coerceError(err) }, 'LISTEN unavailable; relying on polling');
        }
      }
      heartbeat = setInterval(() => void beat(), 2000);
      heartbeat.unref();
      for (const loop of loops.values()) loop.start();
      queueStats.start();
      presence.start();
      logger.info({ queues, concurrency: slots.total, reservedCritical: slots.reserved }, 'worker started');
    },
    async stop(graceSeconds = config.worker.shutdownGraceSeconds) {
      if (!started || draining) return;
      draining = true;
      await Promise.all([...loops.values()].map((l) => l.stop()));
      // Settle statements may have claimed successors before the loops stopped: wait for those too.
      const all = async (abort?: Error) => {
        do {
          if (abort) runner.abortAll(abort);
          await Promise.all([...inflight]);
          await settler.drain();
        } while (inflight.size > 0);
      };
      const graceful = await Promise.race([
        all().then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), graceSeconds * 1000).unref()),
      ]);
      if (!graceful) {
        logger.warn({ running: runner.running.size }, 'grace period over: aborting running jobs back into their queues');
        await all(new ShutdownError());
      }
      await queueStats.stop();
      await presence.stop();
      clearInterval(heartbeat);
      await listener?.close().catch(() => undefined);
      await handlers.close();
      release?.();
      logger.info('worker stopped');
    },
  };
}
