/** Worker metrics (names from packages/core), fed by worker events. */
import { METRICS, priorityName } from '@taskfleet/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WorkerEvents } from './events.ts';
import type { Slots } from './slots.ts';

const RUN_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 15, 60, 300, 1800, 3600];

const labels = ['queue'] as const;

/** The per-job series (counters and histograms by queue). */
function jobSeries(registry: Registry) {
  const started = new Counter({ name: METRICS.jobsStarted, help: 'Job attempts started', labelNames: labels, registers: [registry] });
  const completed = new Counter({ name: METRICS.jobsCompleted, help: 'Jobs completed', labelNames: labels, registers: [registry] });
  const failed = new Counter({
    name: METRICS.jobsFailed,
    help: 'Job attempts failed, by kind (error, permanent, timeout, shutdown)',
    labelNames: ['queue', 'kind'],
    registers: [registry],
  });
  const deferred = new Counter({
    name: METRICS.jobsDeferred,
    help: 'Jobs put back unrun by a fleet-wide limit (no attempt used), by reason (http_host)',
    labelNames: ['queue', 'reason'],
    registers: [registry],
  });
  const rescued = new Counter({
    name: METRICS.jobsRescued,
    help: 'Running jobs of a dead worker replica this replica gave back to their queue, by reason (replica_dead)',
    labelNames: ['queue', 'reason'],
    registers: [registry],
  });
  const retried = new Counter({
    name: METRICS.jobsRetried,
    help: 'Failed attempts that will be retried',
    labelNames: labels,
    registers: [registry],
  });
  const dead = new Counter({
    name: METRICS.jobsDeadLettered,
    help: 'Jobs moved to their dead-letter queue',
    labelNames: labels,
    registers: [registry],
  });
  const run = new Histogram({
    name: METRICS.jobRunDuration,
    help: 'Attempt run time in seconds',
    labelNames: ['queue', 'outcome'],
    buckets: RUN_BUCKETS,
    registers: [registry],
  });
  const wait = new Histogram({
    name: METRICS.jobWait,
    help: 'Time from ready (enqueued or due) to start, in seconds, by queue and priority — rising low-priority wait under load is starvation',
    labelNames: ['queue', 'priority'],
    buckets: WAIT_BUCKETS,
    registers: [registry],
  });
  const fetchErrors = new Counter({
    name: METRICS.fetchErrors,
    help: 'Fetch loop errors (database unreachable, …)',
    labelNames: labels,
    registers: [registry],
  });
  const abandoned = new Counter({
    name: `${METRICS.jobsFailed.replace('_failed_total', '')}_abandoned_total`,
    help: 'Handlers that ignored their abort signal past the grace period (their slot was released anyway)',
    labelNames: labels,
    registers: [registry],
  });
  return { started, completed, failed, deferred, rescued, retried, dead, run, wait, fetchErrors, abandoned };
}

/** Gauges read from the slots at scrape time. */
function slotGauges(registry: Registry, slots: Slots, queues: string[]): void {
  new Gauge({
    name: METRICS.jobsActive,
    help: 'Jobs running now',
    labelNames: labels,
    registers: [registry],
    collect() {
      for (const q of queues) this.set({ queue: q }, slots.activeIn(q));
    },
  });
  new Gauge({
    name: METRICS.workerSlots,
    help: 'Slots of this replica: limit, used, reserved for critical',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.set({ kind: 'limit' }, slots.total);
      this.set({ kind: 'used' }, slots.active);
      this.set({ kind: 'reserved_critical' }, slots.reserved);
    },
  });
}

/** ctx.progress() statements (rate-limited per task: at most one per second plus the last value). */
function observeProgress(registry: Registry, events: WorkerEvents): void {
  const writes = new Counter({
    name: METRICS.progressWrites,
    help: 'Task progress writes (ctx.progress, at most one per task per second plus the last value)',
    labelNames: labels,
    registers: [registry],
  });
  events.on('job:progress', (e) => writes.inc({ queue: e.queue }));
}

export function observeWorker(registry: Registry, events: WorkerEvents, slots: Slots, queues: string[]): void {
  observeProgress(registry, events);
  const { started, completed, failed, deferred, rescued, retried, dead, run, wait, fetchErrors, abandoned } = jobSeries(registry);
  slotGauges(registry, slots, queues);
  for (const q of queues) {
    started.inc({ queue: q }, 0);
    completed.inc({ queue: q }, 0);
    retried.inc({ queue: q }, 0);
    dead.inc({ queue: q }, 0);
  }
  // The label children of the per-job series, resolved once per queue (and priority) rather than
  // hashed from a label object at every job.
  const perQueue = new Map<string, { started: Counter.Internal; completed: Counter.Internal; ran: Histogram.Internal<string> }>();
  const forQueue = (queue: string) => {
    let c = perQueue.get(queue);
    if (!c) {
      c = { started: started.labels({ queue }), completed: completed.labels({ queue }), ran: run.labels({ queue, outcome: 'completed' }) };
      perQueue.set(queue, c);
    }
    return c;
  };
  const waits = new Map<string, Histogram.Internal<string>>();
  const waitFor = (queue: string, priority: number) => {
    const key = `${queue} ${priority}`;
    let h = waits.get(key);
    if (!h) {
      h = wait.labels({ queue, priority: priorityName(priority) });
      waits.set(key, h);
    }
    return h;
  };
  events.on('job:start', (e) => {
    forQueue(e.queue).started.inc();
    waitFor(e.queue, e.priority).observe(e.waitSeconds);
  });
  events.on('job:complete', (e) => {
    const c = forQueue(e.queue);
    c.completed.inc();
    c.ran.observe(e.seconds);
  });
  events.on('job:fail', (e) => {
    failed.inc({ queue: e.queue, kind: e.kind });
    run.observe({ queue: e.queue, outcome: 'failed' }, e.seconds);
    if (e.willRetry) retried.inc({ queue: e.queue });
    if (e.deadLettered) dead.inc({ queue: e.queue });
  });
  events.on('fetch:error', (e) => fetchErrors.inc({ queue: e.queue }));
  events.on('job:abandoned', (e) => abandoned.inc({ queue: e.queue }));
  events.on('job:deferred', (e) => deferred.inc({ queue: e.queue, reason: e.reason }));
  events.on('jobs:rescued', (e) => rescued.inc({ queue: e.queue, reason: e.reason }, e.count));
}
