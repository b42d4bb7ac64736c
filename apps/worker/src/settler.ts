/**
 * Completions are settled in batches: one statement per queue for everything that finished since
 * the last flush (up to WORKER_SETTLE_BATCH), started as soon as the previous one returns. A slot
 * is released only after its job is settled, so a replica never holds more jobs than slots.
 */
import type { Completion } from './sql/jobs.ts';

export type CompleteBatch = (queue: string, items: Completion[]) => Promise<string[]>;

interface Pending extends Completion {
  done: (settled: boolean) => void;
  fail: (err: unknown) => void;
}

export class Settler {
  readonly #complete: CompleteBatch;
  readonly #maxBatch: number;
  readonly #pending = new Map<string, Pending[]>();
  readonly #flushing = new Set<string>();
  readonly #idle: (() => void)[] = [];

  constructor(complete: CompleteBatch, maxBatch: number) {
    this.#complete = complete;
    this.#maxBatch = maxBatch;
  }

  /** Resolves `true` once committed, `false` if the attempt was no longer active (timed out, taken over). */
  complete(queue: string, item: Completion): Promise<boolean> {
    return new Promise((done, fail) => {
      const list = this.#pending.get(queue);
      const entry = { ...item, done, fail };
      if (list) list.push(entry);
      else this.#pending.set(queue, [entry]);
      if (!this.#flushing.has(queue)) setImmediate(() => void this.#flush(queue));
    });
  }

  async #flush(queue: string): Promise<void> {
    if (this.#flushing.has(queue)) return;
    const list = this.#pending.get(queue);
    if (!list || list.length === 0) return;
    const batch = list.splice(0, this.#maxBatch);
    this.#flushing.add(queue);
    try {
      const settled = new Set(await this.#complete(queue, batch));
      for (const item of batch) item.done(settled.has(item.id));
    } catch (err) {
      for (const item of batch) item.fail(err);
    } finally {
      this.#flushing.delete(queue);
      if ((this.#pending.get(queue)?.length ?? 0) > 0) void this.#flush(queue);
      else if (this.#isIdle()) for (const f of this.#idle.splice(0)) f();
    }
  }

  #isIdle(): boolean {
    return this.#flushing.size === 0 && [...this.#pending.values()].every((l) => l.length === 0);
  }

  /** Resolves when nothing is waiting or being settled. */
  drain(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
