/**
 * The fetch loop of one queue (pg-boss `work()` sleeps a whole polling interval after every fetch;
 * this one does not): claim (store `claim.ts`) as many jobs as there are free slots, claim again at
 * once while jobs keep coming, and sleep only when the queue came back empty — until a NOTIFY for
 * the queue, a freed slot, or the polling backstop. Slots reserved for critical tasks are claimed with
 * `minPriority = critical`, so lower work never takes them.
 */
import { PRIORITIES } from '@taskfleet/core';
import { coerceError } from './errors.ts';
import type { WorkerEvents } from './events.ts';
import type { Slots } from './slots.ts';
import type { ClaimedJob, ClaimResult } from '@taskfleet/core';

/** Claim up to `limit` ready jobs of a queue (only those at or above `minPriority` when given). */
export type Claim = (queue: string, limit: number, minPriority?: number) => Promise<ClaimResult>;

export interface QueueLoopDeps {
  queue: string;
  claim: Claim;
  slots: Slots;
  events: WorkerEvents;
  fetchBatch: number;
  pollIntervalMs: number;
  /** Hand a claimed job to its owner, which counts its slot before returning (job-owner.ts). */
  take: (job: ClaimedJob) => void;
}

export class QueueLoop {
  readonly #d: QueueLoopDeps;
  #stopped = false;
  #wake: (() => void) | undefined;
  #done: Promise<void> | undefined;
  #errors = 0;
  #woken = false;
  /**
   * Whether a claim limited to critical jobs (only reserved slots free) may find something: after a
   * NOTIFY or a polling timeout, yes; after a slot release alone, not if the last one found nothing
   * (measured: without this, every settled batch cost two empty claims).
   */
  #lookCritical = true;
  /** NOTIFYs (and stops) seen: one arriving while a claim is in flight must not be lost to its result. */
  #notified = 0;
  #unsubscribe: (() => void) | undefined;
  /** Until when the queue's rate limit holds claims back (performance.now() ms); a NOTIFY clears it. */
  #throttledUntil = 0;

  constructor(deps: QueueLoopDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#unsubscribe ??= this.#d.slots.onRelease(() => this.#nudge());
    this.#done ??= this.#run();
  }

  /**
   * A NOTIFY arrived or a slot freed: stop sleeping. Remembered if the loop is not asleep yet
   * (between a fetch and its sleep), so a wake-up is never lost to that race.
   */
  wake(): void {
    this.#throttledUntil = 0; // a NOTIFY may be a settings change (resume, a higher rate)
    this.#lookCritical = true;
    this.#notified++;
    this.#nudge();
  }

  /** A slot freed: look at the room again. */
  #nudge(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /**
   * How many successors a settle statement may claim for the `freed` non-critical slots its batch
   * releases: all of them while the loop runs (the batch's slots are handed over one for one, so
   * nothing else may count on them), none once stopping.
   */
  refillLimit(freed: number): number {
    return this.#stopped ? 0 : Math.min(freed, this.#d.fetchBatch);
  }

  /** Take slots for jobs claimed on this queue's behalf (by a settle statement) and run them. */
  accept(jobs: ClaimedJob[]): void {
    for (const job of jobs) this.#d.take(job);
  }

  /** Stop claiming; resolves when the loop has exited (running jobs are not waited for). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#done;
    this.#unsubscribe?.();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#stopped) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#woken = false;
        resolve();
      };
      const timer = setTimeout(() => {
        this.#lookCritical = true; // the polling backstop looks for everything
        done();
      }, ms);
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    const { queue, claim, slots, events } = this.#d;
    // While a backlog keeps batches full, wait for a quarter of the slots (or a few ms) before the
    // next fetch: one slot freeing must not turn into one fetch per job (profiled: the batches
    // fragmented to ~40 rows and the fetch statement dominated).
    const lowWater = Math.max(1, Math.min(this.#d.fetchBatch, Math.floor(slots.total / 4)));
    // At most half the slots per fetch: batches then settle out of phase, and the next fetch runs
    // while the previous batch is still being settled instead of after it (pipelining).
    const maxBatch = Math.max(1, Math.min(this.#d.fetchBatch, Math.ceil((slots.total - slots.reserved) / 2)));
    let lastFull = false;
    while (!this.#stopped) {
      // Let every completion of the same settle batch release its slot before looking.
      await new Promise((r) => setImmediate(r));
      const held = this.#throttledUntil - performance.now();
      if (held > 0) {
        await this.#sleep(Math.min(held, this.#d.pollIntervalMs)); // a freed slot wakes this; it looks again
        continue;
      }
      this.#woken = false; // what happened up to now is seen by the room check below
      let room = slots.room(queue);
      if (lastFull && room.nonCritical > 0 && room.nonCritical < lowWater) {
        const until = performance.now() + 5;
        while (room.nonCritical < lowWater && performance.now() < until && !this.#stopped) {
          await this.#sleep(Math.max(1, until - performance.now()));
          room = slots.room(queue);
        }
      }
      if (room.any <= 0) {
        await this.#sleep(this.#d.pollIntervalMs);
        continue;
      }
      const criticalOnly = room.nonCritical <= 0;
      if (criticalOnly && !this.#lookCritical) {
        await this.#sleep(this.#d.pollIntervalMs);
        continue;
      }
      this.#lookCritical = false;
      const notifiedBefore = this.#notified;
      const batchSize = Math.min(maxBatch, criticalOnly ? room.any : room.nonCritical);
      let jobs: ClaimedJob[];
      let throttle: ClaimResult['throttle'];
      try {
        ({ claimed: jobs, throttle } = await claim(queue, batchSize, criticalOnly ? PRIORITIES.critical : undefined));
        this.#errors = 0;
      } catch (err) {
        // Database down or overloaded: back off (up to 5 s) and try again; never exit.
        this.#errors++;
        this.#lookCritical = true;
        events.emit('fetch:error', { queue, error: coerceError(err) });
        await this.#sleep(Math.min(5000, 100 * 2 ** Math.min(this.#errors, 6)));
        continue;
      }
      // Jobs claimed while a stop began still run: the drain waits for them like for the others.
      lastFull = jobs.length === batchSize;
      // A full batch: more may be waiting; a NOTIFY during the claim: a new job may have missed it.
      this.#lookCritical = lastFull || this.#notified !== notifiedBefore;
      for (const job of jobs) this.#d.take(job);
      if (throttle?.retryAfterMs != null) {
        // The queue's rate limit: look again when it lets the next start through.
        this.#throttledUntil = performance.now() + throttle.retryAfterMs + 1;
        continue;
      }
      if (jobs.length === 0 || throttle) await this.#sleep(this.#d.pollIntervalMs);
    }
  }
}
