/**
 * The scheduler every API and worker replica runs: every SCHEDULER_INTERVAL_MS (± 25 % jitter, so
 * replicas do not tick in step) it fires the due schedules in one transaction (store/schedules.ts).
 * Slots are computed against the database's clock, so replicas with skewed clocks agree.
 *
 * - One task per slot: a due row is locked by one tick at a time (SKIP LOCKED), and the task id is a
 *   UUIDv5 of (schedule name, slot), so a slot fired twice by any path inserts once.
 * - None lost across restarts: `next_run_at` moves on only in the transaction that inserts the task.
 * - Missed slots (every replica down): on recovery the latest missed slot runs once; older ones are
 *   skipped (docs/guarantees.md).
 * - Shards: a schedule lives on one shard (the API puts it on `shards.forKey(name)`) and its tasks
 *   are inserted there. A replica runs one scheduler per shard (`startSchedulers`), each ticking on
 *   its own shard; with several shards the slot's task id is stamped with the shard (task-id.ts).
 */
import { Counter, type Registry } from 'prom-client';
import { v5 as uuidv5 } from 'uuid';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { METRICS } from '../metrics.ts';
import { PRIORITIES, type PriorityName } from '../priority.ts';
import { EXPIRY_MARGIN_SECONDS } from '../queue-sync.ts';
import type { PgBoss } from 'pg-boss';
import { fireDueSchedules, type ScheduleFiring, type SchedulePlan, type ScheduleRow } from '../store/schedules.ts';
import { executorOf } from '../store/executor.ts';
import { QueueWaker, type Wake } from '../store/wake.ts';
import type { TaskMeta } from '../tasks/envelope.ts';
import { getTaskDefinition } from '../tasks/registry.ts';
import { stampShard } from '../topology/task-id.ts';
import type { ShardSet } from '../topology/shard-set.ts';
import { latestSlotAtOrBefore, nextSlotAfter } from './cron.ts';

const SLOT_NAMESPACE = '5d0b7c7e-3f0e-4a57-9a8e-2b7f3c1d6e90';
/** Due schedules fired per transaction; more wait for the next tick (which comes at once). */
const BATCH = 100;
/** A schedule whose task type this replica does not know is looked at again after this long. */
const UNKNOWN_QUEUE_RETRY_MS = 60_000;

/** The id of a schedule's task for one slot: the same on every replica and every attempt. */
export function scheduledTaskId(name: string, slot: Date): string {
  return uuidv5(`${name}\n${slot.toISOString()}`, SLOT_NAMESPACE);
}

/**
 * What to do with a due schedule at `now` (the database's clock): fire its latest slot at or before
 * now — the one due, or the latest missed one — and move it to the first slot after now.
 */
export function planSchedule(s: ScheduleRow, now: Date): SchedulePlan {
  try {
    return plan(s, now);
  } catch (err) {
    // Only a row written around the API (its cron or zone checked there) can get here: park it, so
    // it cannot fail every tick's transaction and hold up the other schedules.
    return {
      task: null,
      nextRunAt: new Date(now.getTime() + UNKNOWN_QUEUE_RETRY_MS),
      reason: `cannot be evaluated: ${(err as Error).message}`,
    };
  }
}

function plan(s: ScheduleRow, now: Date): SchedulePlan {
  const def = getTaskDefinition(s.queue);
  if (!def) {
    return { task: null, nextRunAt: new Date(now.getTime() + UNKNOWN_QUEUE_RETRY_MS), reason: 'unknown task type on this replica' };
  }
  const latest = latestSlotAtOrBefore(s.cron, s.timezone, now);
  const slot = latest && latest > s.nextRunAt ? latest : s.nextRunAt;
  const nextRunAt = nextSlotAfter(s.cron, s.timezone, now);
  const meta: TaskMeta = { submitter: s.submitter, schedule: s.name, slot: slot.toISOString() };
  const o = s.options;
  if (o.timeoutSeconds !== undefined) meta.timeoutSeconds = o.timeoutSeconds;
  const task: Extract<SchedulePlan, { slot: Date }>['task'] = {
    id: scheduledTaskId(s.name, slot),
    data: { payload: s.payload, meta },
    priority: PRIORITIES[(o.priority ?? def.defaults.priority) as PriorityName] ?? PRIORITIES.normal,
  };
  if (o.group !== undefined) task.group = { id: o.group };
  if (o.maxAttempts !== undefined) task.retryLimit = o.maxAttempts - 1;
  if (o.timeoutSeconds !== undefined) task.expireInSeconds = o.timeoutSeconds + EXPIRY_MARGIN_SECONDS;
  return { task, slot, nextRunAt };
}

export interface SchedulerOptions {
  boss: PgBoss;
  logger: Logger;
  /** Where the fired-task counter is registered (the process's registry). */
  registry: Registry;
  /** Wakes a queue's workers after its task commits. */
  wake: Wake;
  /** Mean time between ticks; 0 = never tick on a timer (tests call `tick()`). */
  intervalMs: number;
  /** Awaited by `stop()` after the last tick (the waker's NOTIFYs in flight). */
  idle?: () => Promise<void>;
  /** With several shards: this scheduler's shard id, stamped into its tasks' ids. */
  shard?: number;
}

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #fired: Counter<'queue'>;
  readonly #plan: typeof planSchedule;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<ScheduleFiring[]> | undefined;
  #stopped = true;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    const { shard } = options;
    this.#plan =
      shard === undefined
        ? planSchedule
        : (s, now) => {
            const plan = planSchedule(s, now);
            if (plan.task) plan.task.id = stampShard(plan.task.id, shard);
            return plan;
          };
    this.#fired =
      (options.registry.getSingleMetric(METRICS.scheduledTasks) as Counter<'queue'> | undefined) ??
      new Counter({
        name: METRICS.scheduledTasks,
        help: 'Tasks inserted by schedules (one per slot, fleet-wide: sum over replicas)',
        labelNames: ['queue'],
        registers: [options.registry],
      });
  }

  /** Fire every due schedule now (one tick at a time per replica). Errors are logged, never thrown. */
  tick(): Promise<ScheduleFiring[]> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #tick(): Promise<ScheduleFiring[]> {
    const { boss, logger, wake } = this.#o;
    const all: ScheduleFiring[] = [];
    try {
      for (;;) {
        const fired = await fireDueSchedules(boss, BATCH, this.#plan, wake);
        all.push(...fired);
        for (const f of fired) {
          const at = { schedule: f.name, queue: f.queue, taskId: f.taskId, slot: f.slot, nextRunAt: f.nextRunAt };
          if (f.slot === null) logger.warn({ ...at, reason: f.reason }, 'schedule not fired');
          else if (f.inserted) {
            this.#fired.inc({ queue: f.queue });
            logger.info(at, 'schedule fired');
          } else logger.warn(at, 'schedule slot already had its task');
        }
        if (fired.length < BATCH || this.#stopped) break;
      }
    } catch (err) {
      logger.warn({ err }, 'scheduler tick failed; the next tick retries');
    }
    return all;
  }

  start(): void {
    if (!this.#stopped || this.#o.intervalMs <= 0) return;
    this.#stopped = false;
    const next = () => {
      const ms = this.#o.intervalMs * (0.75 + Math.random() * 0.5);
      this.#timer = setTimeout(() => void this.tick().then(() => !this.#stopped && next()), ms);
      this.#timer.unref();
    };
    next();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    await this.#o.idle?.();
  }
}

/**
 * The scheduler of an API or worker replica on one database, from the fleet config (started; `stop()`
 * it on shutdown). With several shards call it once per shard with `shard` (its id, stamped into the
 * task ids), or use `startSchedulers`.
 */
export function startScheduler(deps: { config: Config; boss: PgBoss; logger: Logger; registry: Registry; shard?: number }): Scheduler {
  const logger = deps.logger.child(deps.shard === undefined ? { component: 'scheduler' } : { component: 'scheduler', shard: deps.shard });
  const waker = new QueueWaker(executorOf(deps.boss), (err, queue) => logger.warn({ err, queue }, 'waking workers failed; they poll'));
  const scheduler = new Scheduler({
    ...deps,
    logger,
    wake: waker.wake,
    idle: () => waker.idle(),
    intervalMs: deps.config.schedulerIntervalMs,
  });
  scheduler.start();
  return scheduler;
}

/** One scheduler per shard (one in all for a one-shard map); `stop()` stops them all. */
export function startSchedulers(deps: { config: Config; shards: ShardSet; logger: Logger; registry: Registry }): { stop(): Promise<void> } {
  const { shards } = deps;
  const schedulers = shards.all.map((s) =>
    startScheduler({
      config: deps.config,
      boss: s.boss,
      logger: deps.logger,
      registry: deps.registry,
      ...(shards.sharded ? { shard: s.id } : {}),
    }),
  );
  return { stop: async () => void (await Promise.all(schedulers.map((s) => s.stop()))) };
}
