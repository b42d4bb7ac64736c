/**
 * Owns a claimed job from hand-over to release: takes its slot (p-limit, slots.ts) at once, runs and
 * settles it (job-runner.ts, settler.ts), releases the slot and wakes the queue loops — and knows
 * every job it holds, so a stop can wait for them (or abort them) and for their settling.
 */
import { type ClaimedJob, type Logger, PRIORITIES } from '@taskfleet/core';
import { coerceError } from './errors.ts';
import type { JobRunner } from './job-runner.ts';
import type { Settler } from './settler.ts';
import type { Slots } from './slots.ts';

export interface JobOwnerDeps {
  slots: Slots;
  runner: JobRunner;
  settler: Settler;
  logger: Logger;
}

export class JobOwner {
  readonly #d: JobOwnerDeps;
  readonly #held = new Set<Promise<void>>();

  constructor(deps: JobOwnerDeps) {
    this.#d = deps;
  }

  /** Jobs held: taken and not yet released (running, settling, or waiting for their slot). */
  get held(): number {
    return this.#held.size;
  }

  /** Take a claimed job: its slot is counted before this returns; it runs as soon as the slot is free. */
  take(queue: string, job: ClaimedJob): void {
    const critical = job.priority >= PRIORITIES.critical;
    const life: Promise<void> = this.#d.slots.run(queue, critical, () => this.#run(queue, job)).finally(() => this.#held.delete(life));
    this.#held.add(life);
  }

  async #run(queue: string, job: ClaimedJob): Promise<void> {
    try {
      await this.#d.runner.run(queue, job);
    } catch (err) {
      this.#d.logger.error({ err: coerceError(err), queue, jobId: job.id }, 'job runner failed');
    }
  }

  /**
   * Wait until no job is held, settling included; with `abort`, abort running handlers first (again
   * on every round: a settle statement may hand over successors while the last ones finish).
   */
  async drain(abort?: Error): Promise<void> {
    do {
      if (abort) this.#d.runner.abortAll(abort);
      await Promise.all([...this.#held]);
      await this.#d.settler.drain();
    } while (this.#held.size > 0);
  }
}
