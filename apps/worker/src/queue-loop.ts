/**
 * The fetch loop of one queue (pg-boss `work()` sleeps a whole polling interval after every fetch;
 * this one does not): claim as many jobs as there are free slots, claim again at once while jobs
 * keep coming, and sleep only when the queue came back empty — until a NOTIFY for the queue, a
 * freed slot, or the polling backstop. Slots reserved for critical tasks are claimed with
 * `minPriority = critical`, so lower work never takes them.
 */
import { PRIORITIES } from '@taskfleet/core';
import type { JobWithMetadata, PgBoss } from 'pg-boss';
import { coerceError } from './errors.ts';
import type { WorkerEvents } from './events.ts';
import type { Slots } from './slots.ts';

export interface QueueLoopDeps {
  queue: string;
  boss: PgBoss;
  slots: Slots;
  events: WorkerEvents;
  fetchBatch: number;
  pollIntervalMs: number;
  /** Run a claimed job; the slot is already taken and is released when this settles. */
  dispatch: (job: JobWithMetadata<unknown>, critical: boolean) => void;
}

export class QueueLoop {
  readonly #d: QueueLoopDeps;
  #stopped = false;
  #wake: (() => void) | undefined;
  #done: Promise<void> | undefined;
  #errors = 0;

  constructor(deps: QueueLoopDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#done ??= this.#run();
  }

  /** A NOTIFY arrived or a slot freed: stop sleeping. */
  wake(): void {
    this.#wake?.();
  }

  /** Stop claiming; resolves when the loop has exited (running jobs are not waited for). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#done;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const unsubscribe = this.#d.slots.onRelease(done);
      function done() {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    const { queue, boss, slots, events } = this.#d;
    while (!this.#stopped) {
      const room = slots.room(queue);
      if (room.any <= 0) {
        await this.#sleep(this.#d.pollIntervalMs);
        continue;
      }
      const criticalOnly = room.nonCritical <= 0;
      const batchSize = Math.min(this.#d.fetchBatch, criticalOnly ? room.any : room.nonCritical);
      let jobs: JobWithMetadata<unknown>[];
      try {
        jobs = await boss.fetch<unknown>(queue, {
          batchSize,
          includeMetadata: true,
          ...(criticalOnly ? { minPriority: PRIORITIES.critical } : {}),
        });
        this.#errors = 0;
      } catch (err) {
        // Database down or overloaded: back off (up to 5 s) and try again; never exit.
        this.#errors++;
        events.emit('fetch:error', { queue, error: coerceError(err) });
        await this.#sleep(Math.min(5000, 100 * 2 ** Math.min(this.#errors, 6)));
        continue;
      }
      // Jobs claimed while a stop began still run: the drain waits for them like for the others.
      for (const job of jobs) {
        const critical = job.priority >= PRIORITIES.critical;
        slots.acquire(queue, critical);
        this.#d.dispatch(job, critical);
      }
      if (jobs.length === 0) await this.#sleep(this.#d.pollIntervalMs);
    }
  }
}
