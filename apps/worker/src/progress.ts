/**
 * `ctx.progress(value)`: a handler reports how far it got; the status endpoint shows the last value.
 * The value is checked at once (tasks/progress.ts: a number 0–100 or a plain object ≤ 2 KB as JSON;
 * anything else throws InvalidProgressError in the handler). Writes are rate-limited per attempt:
 * at most one per {@link PROGRESS_INTERVAL_MS}, values reported in between coalesced into the
 * latest, one write in flight at a time. Before the attempt is settled the job runner flushes the
 * last unwritten value (so the final value is stored while the task is still active, and a write
 * can never land after its end); a cancelled or taken-over attempt drops it. A handler that never
 * reports costs nothing: the reporter is made on the first call.
 */
import { executorOf, type Logger, serializeProgress, writeProgress } from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { coerceError } from './errors.ts';
import type { WorkerEvents } from './events.ts';

/** At most one progress write per attempt per this interval. */
export const PROGRESS_INTERVAL_MS = 1_000;

export interface ProgressDeps {
  boss: PgBoss;
  events: WorkerEvents;
  logger: Logger;
}

export class ProgressReporter {
  readonly #attempt: { queue: string; id: string; retryCount: number };
  readonly #d: ProgressDeps;
  #pending: string | undefined;
  #lastWrite = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #closed = false;

  constructor(deps: ProgressDeps, attempt: { queue: string; id: string; retryCount: number }) {
    this.#d = deps;
    this.#attempt = attempt;
  }

  /** Check the value (throws InvalidProgressError) and write it now or at the next free moment. */
  report(value: unknown): void {
    const json = serializeProgress(value);
    if (this.#closed) return;
    this.#pending = json;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#inFlight || this.#closed) return; // the running write or the timer takes the latest value
    const wait = this.#lastWrite + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.#writePending();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#writePending();
    }, wait);
  }

  #writePending(): void {
    const json = this.#pending;
    if (json === undefined || this.#closed) return;
    this.#pending = undefined;
    this.#inFlight = this.#write(json).finally(() => {
      this.#inFlight = undefined;
      if (this.#pending !== undefined) this.#schedule();
    });
  }

  async #write(json: string): Promise<void> {
    this.#lastWrite = Date.now();
    const { queue, id } = this.#attempt;
    try {
      const written = await writeProgress(executorOf(this.#d.boss), this.#attempt, json);
      this.#d.events.emit('job:progress', { queue, id, written });
    } catch (err) {
      // Progress is advisory: a failed write is logged, the handler goes on.
      this.#d.logger.warn({ err: coerceError(err), queue, jobId: id }, 'could not store the task progress');
    }
  }

  /** Before the attempt is settled: wait for the write in flight, write the last unwritten value, stop. */
  async flush(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    const json = this.#pending;
    this.#pending = undefined;
    if (json !== undefined) await this.#write(json);
  }

  /** The attempt is over without us (cancelled, taken over): nothing more is written. */
  drop(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }
}
