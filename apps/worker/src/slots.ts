/**
 * The replica's slots, counted by p-limit and nothing else: one limiter for all WORKER_CONCURRENCY
 * slots, one for the slots lower-priority work may use (all but the ones reserved for critical
 * tasks), and one per queue (WORKER_QUEUE_CONCURRENCY, else the total). A job takes its slot in
 * each limiter that applies, synchronously when it is handed over, and starts once all of them
 * admit it — so a backlog (or long-running low jobs) can never take the last slots from a critical
 * task, and a replica never runs more jobs than it has slots.
 */
import pLimit, { type LimitFunction } from 'p-limit';

export interface Room {
  /** Jobs of any priority this queue may claim now. */
  any: number;
  /** Of those, how many may be below critical. */
  nonCritical: number;
}

/** Slots a limiter has given out or promised (a handed-over job waits in it for a slot to free). */
const used = (l: LimitFunction): number => l.activeCount + l.pendingCount;

export class Slots {
  readonly total: number;
  readonly reserved: number;
  readonly #all: LimitFunction;
  readonly #nonCritical: LimitFunction;
  readonly #perQueueLimit: Record<string, number>;
  readonly #perQueue = new Map<string, LimitFunction>();
  readonly #waiters = new Set<() => void>();
  readonly #wakeAll = () => {
    for (const wake of this.#waiters) wake();
  };

  constructor(total: number, reserved: number, perQueueLimit: Record<string, number> = {}) {
    this.total = total;
    this.reserved = Math.min(reserved, Math.max(0, total - 1));
    this.#all = pLimit(total);
    this.#nonCritical = pLimit(total - this.reserved);
    this.#perQueueLimit = perQueueLimit;
  }

  get active(): number {
    return used(this.#all);
  }

  activeIn(queue: string): number {
    const limiter = this.#perQueue.get(queue);
    return limiter ? used(limiter) : 0;
  }

  room(queue: string): Room {
    const any = Math.max(0, Math.min(this.total - used(this.#all), this.#queue(queue).concurrency - this.activeIn(queue)));
    const nonCritical = Math.max(0, Math.min(any, this.#nonCritical.concurrency - used(this.#nonCritical)));
    return { any, nonCritical };
  }

  /**
   * Take a slot of `queue` now and run `fn` in it once every limiter admits it; the slot is
   * released when `fn` settles, and then the queue loops are woken.
   */
  run(queue: string, critical: boolean, fn: () => Promise<void>): Promise<void> {
    const limiters = critical ? [this.#all, this.#queue(queue)] : [this.#all, this.#nonCritical, this.#queue(queue)];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let start!: () => void;
    const admitted = new Promise<void>((resolve) => {
      start = resolve;
    });
    let waiting = limiters.length;
    const hold = () => {
      if (--waiting === 0) start();
      return held;
    };
    // A limiter's promise settles after it has counted the slot free again: wake the loops then.
    void Promise.all(limiters.map((limit) => limit(hold))).then(this.#wakeAll);
    return admitted.then(fn).finally(release);
  }

  /** Call `wake` whenever a slot frees; returns the unsubscribe function. */
  onRelease(wake: () => void): () => void {
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }

  #queue(queue: string): LimitFunction {
    let limiter = this.#perQueue.get(queue);
    if (!limiter) {
      limiter = pLimit(Math.min(this.total, this.#perQueueLimit[queue] ?? this.total));
      this.#perQueue.set(queue, limiter);
    }
    return limiter;
  }
}
