/**
 * The worker as an app factory: `createWorker(deps)` wires the per-queue fetch loops, the slots
 * (p-limit), the job runner, batched settling, heartbeats, LISTEN/NOTIFY wake-ups, health and
 * metrics. `main.ts` gives it real dependencies; tests give it a test database.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type ClaimedJob,
  claimJobs,
  completeAndClaim,
  type Completion,
  type Config,
  type ExecutePrepared,
  executorOf,
  getTaskDefinition,
  healthRoutes,
  type Logger,
  metricsRoute,
  CANCEL_CHANNEL,
  NOTIFY_CHANNEL,
  ping,
  createQueueStatsExporter,
  taskNames,
  trackResource,
} from '@taskfleet/core';
import { Hono } from 'hono';
import type { PgBoss } from 'pg-boss';
import type { Registry } from 'prom-client';
import { coerceError, ShutdownError } from './errors.ts';
import { WorkerEvents } from './events.ts';
import { createHandlers, type Handlers } from './handlers/index.ts';
import type { HandlerEntry } from './handlers/types.ts';
import { Heartbeats } from './heartbeats.ts';
import { JobOwner } from './job-owner.ts';
import { JobRunner } from './job-runner.ts';
import { observeWorker } from './metrics.ts';
import { Presence } from './presence.ts';
import { QueueLoop } from './queue-loop.ts';
import { Rescuer } from './rescuer.ts';
import { Settler } from './settler.ts';
import { Slots } from './slots.ts';

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

/** Connections a replica needs: one fetch per queue, settling, failures, heartbeats, maintenance. */
export function connectionsNeeded(queues: number): number {
  return queues + 4;
}

/** The queues this replica drains (WORKER_QUEUES, else every task type), checked against its pool. */
function queuesOf(config: Config): string[] {
  const queues = config.worker.queues ?? taskNames();
  const unknown = queues.filter((q) => !getTaskDefinition(q));
  if (unknown.length) throw new Error(`WORKER_QUEUES names unknown queue(s): ${unknown.join(', ')}`);
  if (config.worker.poolSize < connectionsNeeded(queues.length)) {
    throw new Error(
      `WORKER_DB_POOL_SIZE=${config.worker.poolSize} is too small for ${queues.length} queue(s): a replica needs at least ${connectionsNeeded(queues.length)} connections (one fetch loop per queue + 4)`,
    );
  }
  return queues;
}

/**
 * LISTEN on pg-boss's channel (a NOTIFY wakes its queue's loop, a reconnect wakes them all) and on
 * taskfleet's cancel channel (the replica running a cancelled task aborts its handler).
 */
async function listenForWork(
  boss: PgBoss,
  loops: Map<string, QueueLoop>,
  runner: JobRunner,
  logger: Logger,
): Promise<{ close(): Promise<void> }[]> {
  const db = boss.getDb();
  if (!db.listen) return [];
  const listeners: { close(): Promise<void> }[] = [];
  const wakeAll = () => {
    for (const loop of loops.values()) loop.wake();
  };
  const onCancel = (payload: string) => {
    try {
      const { queue, id } = JSON.parse(payload) as { queue: string; id: string };
      if (runner.cancel(queue, id)) logger.info({ queue, jobId: id }, 'cancel received: aborting the running handler');
    } catch (err) {
      logger.warn({ err: coerceError(err), payload }, 'unreadable cancel notification');
    }
  };
  try {
    listeners.push(await db.listen(NOTIFY_CHANNEL, (queue) => loops.get(queue)?.wake(), wakeAll));
    listeners.push(await db.listen(CANCEL_CHANNEL, onCancel, () => undefined));
  } catch (err) {
    logger.warn({ err: coerceError(err) }, 'LISTEN unavailable; relying on polling (a cancel then waits for the deadline)');
  }
  return listeners;
}

function logWorkerEvents(events: WorkerEvents, logger: Logger): void {
  events.on('fetch:error', ({ queue, error }) => logger.warn({ queue, err: error }, 'fetch failed; backing off'));
  events.on('settle:error', ({ queue, error }) => logger.warn({ queue, err: error }, 'settling failed'));
  events.on('job:abandoned', ({ queue, id }) =>
    logger.error({ queue, jobId: id }, 'handler ignored its abort signal; slot released and job failed'),
  );
}

/** Let held jobs finish for up to `graceSeconds`, then abort the rest back into their queues. */
async function drainWithGrace(owner: JobOwner, runner: JobRunner, graceSeconds: number, logger: Logger): Promise<void> {
  const graceful = await Promise.race([
    owner.drain().then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), graceSeconds * 1000).unref()),
  ]);
  if (!graceful) {
    logger.warn({ running: runner.running.size }, 'grace period over: aborting running jobs back into their queues');
    await owner.drain(new ShutdownError());
  }
}

/** One fetch loop per queue; what a loop claims goes to the job owner. */
function queueLoops(
  queues: string[],
  d: { config: Config; executeSql: ExecutePrepared; slots: Slots; events: WorkerEvents; owner: JobOwner; incarnation: string },
): Map<string, QueueLoop> {
  return new Map<string, QueueLoop>(
    queues.map((queue): [string, QueueLoop] => [
      queue,
      new QueueLoop({
        queue,
        claim: (q, limit, minPriority) => claimJobs(d.executeSql, q, limit, minPriority, d.incarnation),
        slots: d.slots,
        events: d.events,
        fetchBatch: d.config.worker.fetchBatch,
        pollIntervalMs: d.config.worker.pollIntervalMs,
        take: (job: ClaimedJob) => d.owner.take(queue, job),
      }),
    ]),
  );
}

export function createWorker(deps: WorkerDeps): Worker {
  const { config, boss, logger } = deps;
  const queues = queuesOf(config);
  const executeSql = executorOf(boss);
  /** This process's id on the jobs it claims and on its presence row (a restart is a new one). */
  const incarnation = randomUUID();
  const events = new WorkerEvents();
  const slots = new Slots(config.worker.concurrency, config.worker.criticalReservedSlots, config.worker.queueConcurrency);
  const handlers: Handlers = createHandlers(config, deps.handlers, executeSql);
  const settle = (queue: string, items: Completion[], claim: number) =>
    completeAndClaim(executeSql, queue, items, claim, undefined, incarnation);
  const settler = new Settler(settle, config.worker.settleBatch, {
    limitFor: (queue, freed) => loops.get(queue)?.refillLimit(freed) ?? 0,
    accept: (queue, jobs) => loops.get(queue)?.accept(jobs),
  });
  const runner = new JobRunner({ config, boss, handlers, settler, events, logger });
  const owner = new JobOwner({ slots, runner, settler, logger });
  let draining = false;
  let started = false;
  let listeners: { close(): Promise<void> }[] = [];
  let release: (() => void) | undefined;

  const loops = queueLoops(queues, { config, executeSql, slots, events, owner, incarnation });

  observeWorker(deps.metrics, events, slots, queues);
  const queueStats = createQueueStatsExporter({ config, executeSql, registry: deps.metrics, logger });
  const heartbeats = new Heartbeats({ boss, runner, logger });
  const { presenceIntervalMs, deadAfterSeconds } = config.worker;
  const rescuer = new Rescuer({ boss, executeSql, incarnation, deadAfterSeconds, presenceIntervalMs, runner, events, logger });
  const presence = new Presence({
    executeSql,
    logger,
    id: deps.replica ?? config.worker.id ?? `${hostname()}-${process.pid}`,
    incarnation,
    queues,
    concurrency: slots.total,
    active: () => slots.active,
    intervalMs: presenceIntervalMs,
    afterBeat: (ok) => rescuer.afterBeat(ok),
  });
  logWorkerEvents(events, logger);

  const http = new Hono();
  http.route('/', healthRoutes({ pingDatabase: () => ping(executeSql), isDraining: () => draining || !started }));
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
      listeners = await listenForWork(boss, loops, runner, logger);
      await presence.start(); // before the first claim stamps this incarnation on a job
      heartbeats.start();
      for (const loop of loops.values()) loop.start();
      queueStats.start();
      logger.info({ queues, concurrency: slots.total, reservedCritical: slots.reserved }, 'worker started');
    },
    async stop(graceSeconds = config.worker.shutdownGraceSeconds) {
      if (!started || draining) return;
      draining = true;
      await Promise.all([...loops.values()].map((l) => l.stop()));
      // Settle statements may have claimed successors before the loops stopped: the owner waits for those too.
      await drainWithGrace(owner, runner, graceSeconds, logger);
      await queueStats.stop();
      await presence.stop();
      heartbeats.stop();
      await Promise.all(listeners.map((l) => l.close().catch(() => undefined)));
      await handlers.close();
      release?.();
      logger.info('worker stopped');
    },
  };
}
