/**
 * Runs one claimed job: builds the handler context (logger, deadline, signal), runs the handler,
 * and settles the outcome — complete (batched), retry with backoff, permanent failure or
 * dead-letter (pg-boss), keeping a bounded history of the attempts' errors in the output.
 */
import type { ExecuteSql } from '@taskfleet/core';
import { type Config, isTaskEnvelope, type Logger, PRIORITIES, type TaskMeta } from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { coerceError, errorRecord, PermanentError, RetryableError, ShutdownError, TimeoutError } from './errors.ts';
import type { WorkerEvents } from './events.ts';
import type { Handlers } from './handlers/index.ts';
import type { Settler } from './settler.ts';
import type { ClaimedJob } from './sql/claim.ts';
import { delayRetry, makeLastAttempt, refundAttempt } from './sql/jobs.ts';

const HISTORY_LIMIT = 10;

export interface RunningJob {
  queue: string;
  id: string;
  retryCount: number;
  controller: AbortController;
  heartbeatSeconds: number | null;
  lastTouch: number;
}

export interface JobRunnerDeps {
  config: Config;
  boss: PgBoss;
  executeSql: ExecuteSql;
  handlers: Handlers;
  settler: Settler;
  events: WorkerEvents;
  logger: Logger;
}

function historyOf(previous: unknown): unknown[] {
  const history = (previous as { history?: unknown } | null)?.history;
  return Array.isArray(history) ? history : [];
}

export class JobRunner {
  readonly #d: JobRunnerDeps;
  /** Jobs with a running handler, by id (heartbeats and shutdown use it). */
  readonly running = new Map<string, RunningJob>();

  constructor(deps: JobRunnerDeps) {
    this.#d = deps;
  }

  async run(queue: string, job: ClaimedJob): Promise<void> {
    const { config, events, handlers } = this.#d;
    const started = performance.now();
    const attempt = job.retryCount + 1;
    const envelope = isTaskEnvelope(job.data) ? job.data : { payload: job.data, meta: {} as Partial<TaskMeta> };
    const meta = envelope.meta as Partial<TaskMeta>;
    const entry = handlers.get(queue);
    const timeoutSeconds = meta.timeoutSeconds ?? entry?.definition.defaults.timeoutSeconds ?? 60;
    const controller = new AbortController();
    const running: RunningJob = {
      queue,
      id: job.id,
      retryCount: job.retryCount,
      controller,
      heartbeatSeconds: job.heartbeatSeconds ?? null,
      lastTouch: Date.now(),
    };
    this.running.set(job.id, running);
    const logger = this.#d.logger.child({ queue, jobId: job.id, attempt, ...(meta.traceparent ? { traceparent: meta.traceparent } : {}) });
    const readyAt = Math.max(new Date(job.startAfter).getTime(), new Date(job.createdOn).getTime());
    events.emit('job:start', {
      queue,
      id: job.id,
      priority: job.priority,
      attempt,
      waitSeconds: Math.max(0, (Date.now() - readyAt) / 1000),
    });
    const deadline = new Date(Date.now() + timeoutSeconds * 1000);
    const timer = setTimeout(() => controller.abort(new TimeoutError(timeoutSeconds)), timeoutSeconds * 1000);
    let abandonTimer: NodeJS.Timeout | undefined;
    try {
      if (!entry) throw new PermanentError(`no handler for queue ${queue}`);
      const parsed = entry.definition.schema.safeParse(envelope.payload);
      if (!parsed.success)
        throw new PermanentError('the stored payload does not match the task type schema', { issues: parsed.error.issues.slice(0, 5) });
      const handled = entry.handle(parsed.data, {
        queue,
        jobId: job.id,
        attempt,
        maxAttempts: job.retryLimit + 1,
        deadline,
        signal: controller.signal,
        logger,
        traceparent: meta.traceparent,
        config,
      });
      handled.catch(() => undefined); // if abandoned, its late rejection must not become unhandled
      // A handler that ignores its signal cannot hold the slot forever.
      const abandoned = new Promise<never>((_, reject) => {
        const arm = () => {
          abandonTimer = setTimeout(() => {
            events.emit('job:abandoned', { queue, id: job.id });
            reject(controller.signal.reason ?? new TimeoutError(timeoutSeconds));
          }, config.worker.abandonGraceMs);
        };
        if (controller.signal.aborted) arm();
        else controller.signal.addEventListener('abort', arm, { once: true });
      });
      const output = await Promise.race([handled, abandoned]);
      this.running.delete(job.id);
      const settled = await this.#d.settler.complete(
        queue,
        { id: job.id, retryCount: job.retryCount, output: output ?? null },
        job.priority >= PRIORITIES.critical,
      );
      if (!settled) logger.warn('completed, but the attempt was no longer active (expired or taken over); its result was discarded');
      events.emit('job:complete', { queue, id: job.id, priority: job.priority, attempt, seconds: (performance.now() - started) / 1000 });
    } catch (thrown) {
      this.running.delete(job.id);
      const reason = controller.signal.aborted ? controller.signal.reason : undefined;
      const error = reason instanceof ShutdownError || reason instanceof TimeoutError ? reason : coerceError(thrown);
      await this.#fail(queue, job, attempt, error, logger, (performance.now() - started) / 1000);
    } finally {
      clearTimeout(timer);
      clearTimeout(abandonTimer);
      this.running.delete(job.id);
    }
  }

  async #fail(queue: string, job: ClaimedJob, attempt: number, error: Error, logger: Logger, seconds: number): Promise<void> {
    const { boss, executeSql, events } = this.#d;
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
    const attemptRef = { id: job.id, retryCount: job.retryCount };
    try {
      if (kind === 'permanent') await makeLastAttempt(executeSql, queue, job.id, job.retryCount);
      if (kind === 'shutdown') await refundAttempt(executeSql, queue, job.id, job.retryCount);
      await boss.fail(queue, attemptRef, output);
      const retryAfter = error instanceof RetryableError ? error.retryAfterSeconds : undefined;
      if (retryAfter) await delayRetry(executeSql, queue, job.id, retryAfter);
    } catch (err) {
      // The job stays active; pg-boss's heartbeat/expiry monitor will retry it. Nothing is lost.
      logger.error({ err: coerceError(err), cause: record }, 'could not record the failure; the job will be retried by expiry');
      events.emit('settle:error', { queue, error: coerceError(err), jobs: 1 });
      return;
    }
    const willRetry = kind === 'shutdown' || (kind !== 'permanent' && job.retryCount < job.retryLimit);
    const deadLettered = !willRetry && Boolean(job.deadLetter);
    const log = { err: error, kind, willRetry, deadLettered };
    if (willRetry) logger.warn(log, 'attempt failed; will retry');
    else logger.error(log, deadLettered ? 'task failed; moved to the dead-letter queue' : 'task failed');
    events.emit('job:fail', { queue, id: job.id, priority: job.priority, attempt, seconds, error, willRetry, deadLettered, kind });
  }

  /** Abort every running handler (shutdown after the grace period). */
  abortAll(reason: Error): void {
    for (const job of this.running.values()) job.controller.abort(reason);
  }
}
