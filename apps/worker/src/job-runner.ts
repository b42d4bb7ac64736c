/**
 * Runs one claimed job: builds the handler context (logger, deadline, signal), runs the handler,
 * and settles the outcome — complete (batched), retry with backoff, permanent failure or
 * dead-letter (pg-boss), keeping a bounded history of the attempts' errors in the output.
 */
import {
  type ClaimedJob,
  type Config,
  deferAttempt,
  dependencyOutputs,
  executorOf,
  isTaskEnvelope,
  type Logger,
  PRIORITIES,
  recordFailure,
  type TaskMeta,
} from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import {
  CancelledError,
  coerceError,
  DeferredError,
  errorRecord,
  PermanentError,
  RetryableError,
  ShutdownError,
  TakenOverError,
  TimeoutError,
} from './errors.ts';
import type { WorkerEvents } from './events.ts';
import type { Handlers } from './handlers/index.ts';
import type { HandlerEntry } from './handlers/types.ts';
import { ProgressReporter } from './progress.ts';
import type { Settler } from './settler.ts';

const HISTORY_LIMIT = 10;

export interface RunningJob {
  queue: string;
  id: string;
  retryCount: number;
  heartbeatSeconds: number | null;
  lastTouch: number;
  /** Why the attempt was aborted (deadline or shutdown); unset while it runs normally. */
  abortReason?: Error;
  /** The handler's signal, made when the handler first reads `ctx.signal`. */
  controller?: AbortController;
  /** Gives up on a handler that ignored its abort (armed by `abort`). */
  abandon?: (reason: Error) => void;
  abandonTimer?: NodeJS.Timeout;
  /** Made on the handler's first ctx.progress() call. */
  progress?: ProgressReporter;
}

export interface JobRunnerDeps {
  config: Config;
  boss: PgBoss;
  handlers: Handlers;
  settler: Settler;
  events: WorkerEvents;
  logger: Logger;
  /** The shard `boss` is (set when the replica drains several): on the events, as on the logger. */
  shard?: number;
}

function historyOf(previous: unknown): unknown[] {
  const history = (previous as { history?: unknown } | null)?.history;
  return Array.isArray(history) ? history : [];
}

/**
 * What a job allocates on the happy path is kept small (a drain runs ~20,000 jobs/s per replica):
 * the child logger, the AbortController and the abandon timer are made only when something needs
 * them — measured: a child logger per job alone was 6 KB of garbage and a third of the worker's CPU.
 */
export class JobRunner {
  readonly #d: JobRunnerDeps;
  /** Jobs with a running handler, by id (heartbeats and shutdown use it). */
  readonly running = new Map<string, RunningJob>();

  /** The shard field of this runner's events (none in a one-shard replica). */
  readonly #at: { shard?: number };

  constructor(deps: JobRunnerDeps) {
    this.#d = deps;
    this.#at = deps.shard === undefined ? {} : { shard: deps.shard };
  }

  async run(queue: string, job: ClaimedJob): Promise<void> {
    const { events, handlers } = this.#d;
    const started = performance.now();
    const attempt = job.retryCount + 1;
    const envelope = isTaskEnvelope(job.data) ? job.data : { payload: job.data, meta: {} as Partial<TaskMeta> };
    const meta = envelope.meta as Partial<TaskMeta>;
    const entry = handlers.get(queue);
    const timeoutSeconds = meta.timeoutSeconds ?? entry?.definition.defaults.timeoutSeconds ?? 60;
    const running: RunningJob = {
      queue,
      id: job.id,
      retryCount: job.retryCount,
      heartbeatSeconds: job.heartbeatSeconds ?? null,
      lastTouch: Date.now(),
    };
    this.running.set(job.id, running);
    let jobLogger: Logger | undefined;
    const logger = (): Logger =>
      (jobLogger ??= this.#d.logger.child({
        queue,
        jobId: job.id,
        attempt,
        ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
      }));
    const readyAt = Math.max(job.startAfter.getTime(), job.createdOn.getTime());
    events.emit('job:start', {
      queue,
      id: job.id,
      priority: job.priority,
      attempt,
      waitSeconds: Math.max(0, (Date.now() - readyAt) / 1000),
    });
    const timer = setTimeout(() => this.abort(running, new TimeoutError(timeoutSeconds)), timeoutSeconds * 1000);
    try {
      if (!entry) throw new PermanentError(`no handler for queue ${queue}`);
      const output = await this.#handle(entry, envelope.payload, job, running, {
        deadlineMs: Date.now() + timeoutSeconds * 1000,
        logger,
        traceparent: meta.traceparent,
      });
      if (running.progress) await running.progress.flush(); // the last value, while the task is still active
      this.running.delete(job.id);
      const settled = await this.#d.settler.complete(
        queue,
        { id: job.id, retryCount: job.retryCount, output: output ?? null },
        job.priority >= PRIORITIES.critical,
      );
      if (!settled) logger().warn('completed, but the attempt was no longer active (expired or taken over); its result was discarded');
      events.emit('job:complete', { queue, id: job.id, priority: job.priority, attempt, seconds: (performance.now() - started) / 1000 });
    } catch (thrown) {
      this.running.delete(job.id);
      const reason = running.abortReason;
      if (reason instanceof CancelledError || reason instanceof TakenOverError) running.progress?.drop();
      else if (running.progress) await running.progress.flush();
      if (reason instanceof CancelledError) {
        // The row is already `cancelled` (the API did that): nothing to record, nothing to retry.
        logger().info('cancelled while running; handler aborted');
        events.emit('job:cancelled', { queue, id: job.id, seconds: (performance.now() - started) / 1000 });
        return;
      }
      if (reason instanceof TakenOverError) {
        // Another replica gave the attempt back (this one looked dead): it is not ours to record.
        logger().warn('given back to its queue while this replica was unreachable; handler aborted');
        return;
      }
      const error = reason instanceof ShutdownError || reason instanceof TimeoutError ? reason : coerceError(thrown);
      if (error instanceof DeferredError) {
        await this.#defer(queue, job, error, logger());
        return;
      }
      await this.#fail(queue, job, attempt, error, logger(), (performance.now() - started) / 1000);
    } finally {
      clearTimeout(timer);
      clearTimeout(running.abandonTimer);
      running.progress?.drop();
      this.running.delete(job.id);
    }
  }

  /**
   * Validate the stored payload and run the handler with its context (whose logger, signal and
   * deadline are made on first use). A handler that ignores its signal cannot hold the slot
   * forever: once aborted, it has `abandonGraceMs` to settle before the attempt is given up on.
   */
  #handle(
    entry: HandlerEntry,
    payload: unknown,
    job: ClaimedJob,
    running: RunningJob,
    ctx: { deadlineMs: number; logger: () => Logger; traceparent: string | undefined },
  ): Promise<unknown> {
    const { config, events } = this.#d;
    const parsed = entry.definition.schema.safeParse(payload);
    if (!parsed.success)
      throw new PermanentError('the stored payload does not match the task type schema', { issues: parsed.error.issues.slice(0, 5) });
    const handled = entry.handle(parsed.data, {
      queue: running.queue,
      jobId: job.id,
      attempt: job.retryCount + 1,
      maxAttempts: job.retryLimit + 1,
      get deadline() {
        return new Date(ctx.deadlineMs);
      },
      get signal() {
        running.controller ??= new AbortController();
        if (running.abortReason && !running.controller.signal.aborted) running.controller.abort(running.abortReason);
        return running.controller.signal;
      },
      get logger() {
        return ctx.logger();
      },
      traceparent: ctx.traceparent,
      config,
      progress: (value) => {
        running.progress ??= new ProgressReporter(this.#d, running);
        running.progress.report(value);
      },
      dependencies: () => dependencyOutputs(executorOf(this.#d.boss), running.queue, job.id),
    });
    return new Promise((resolve, reject) => {
      running.abandon = (reason) => {
        running.abandonTimer = setTimeout(() => {
          events.emit('job:abandoned', { queue: running.queue, id: job.id, ...this.#at });
          reject(reason);
        }, config.worker.abandonGraceMs);
      };
      if (running.abortReason) running.abandon(running.abortReason);
      handled.then(resolve, reject);
    });
  }

  /** Abort one attempt: its signal fires (if the handler took it) and the abandon grace starts. */
  abort(running: RunningJob, reason: Error): void {
    if (running.abortReason) return;
    running.abortReason = reason;
    running.controller?.abort(reason);
    running.abandon?.(reason);
  }

  async #fail(queue: string, job: ClaimedJob, attempt: number, error: Error, logger: Logger, seconds: number): Promise<void> {
    const { boss, events } = this.#d;
    const kind =
      error instanceof PermanentError
        ? 'permanent'
        : error instanceof TimeoutError
          ? 'timeout'
          : error instanceof ShutdownError
            ? 'shutdown'
            : 'error';
    const record = errorRecord(error, attempt);
    const output = { error: record, history: [...historyOf(job.output), record].slice(-HISTORY_LIMIT) };
    try {
      await recordFailure(boss, {
        queue,
        id: job.id,
        retryCount: job.retryCount,
        output,
        ...(kind === 'permanent' ? { attempt: 'last' as const } : kind === 'shutdown' ? { attempt: 'refund' as const } : {}),
        ...(error instanceof RetryableError && error.retryAfterSeconds ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
      });
    } catch (err) {
      // The job stays active; pg-boss's heartbeat/expiry monitor will retry it. Nothing is lost.
      logger.error({ err: coerceError(err), cause: record }, 'could not record the failure; the job will be retried by expiry');
      events.emit('settle:error', { queue, error: coerceError(err), jobs: 1, ...this.#at });
      return;
    }
    const willRetry = kind === 'shutdown' || (kind !== 'permanent' && job.retryCount < job.retryLimit);
    const deadLettered = !willRetry && Boolean(job.deadLetter);
    const log = { err: error, kind, willRetry, deadLettered };
    if (willRetry) logger.warn(log, 'attempt failed; will retry');
    else logger.error(log, deadLettered ? 'task failed; moved to the dead-letter queue' : 'task failed');
    events.emit('job:fail', { queue, id: job.id, priority: job.priority, attempt, seconds, error, willRetry, deadLettered, kind });
  }

  /** Put the attempt back unrun (a fleet-wide limit held it): no attempt used, no error recorded. */
  async #defer(queue: string, job: ClaimedJob, deferred: DeferredError, logger: Logger): Promise<void> {
    try {
      await deferAttempt(executorOf(this.#d.boss), queue, job.id, job.retryCount, deferred.retryAfterSeconds);
    } catch (err) {
      logger.error({ err: coerceError(err) }, 'could not defer the attempt; the job will be retried by expiry');
      this.#d.events.emit('settle:error', { queue, error: coerceError(err), jobs: 1, ...this.#at });
      return;
    }
    logger.debug({ reason: deferred.reason, retryAfterSeconds: deferred.retryAfterSeconds }, deferred.message);
    this.#d.events.emit('job:deferred', { queue, id: job.id, reason: deferred.reason });
  }

  /** Abort a running attempt because its task was cancelled; false if this replica does not run it. */
  cancel(queue: string, id: string): boolean {
    const running = this.running.get(id);
    if (!running || running.queue !== queue) return false;
    this.abort(running, new CancelledError());
    return true;
  }

  /** Abort the running attempts that were given back while this replica was unreachable. */
  takeBack(ids: Iterable<string>): void {
    for (const id of ids) {
      const running = this.running.get(id);
      if (running) this.abort(running, new TakenOverError());
    }
  }

  /** Abort every running handler (shutdown after the grace period). */
  abortAll(reason: Error): void {
    for (const job of this.running.values()) this.abort(job, reason);
  }
}
