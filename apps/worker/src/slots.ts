/**
 * Slot accounting across every queue of one replica: WORKER_CONCURRENCY slots in all, optional
 * per-queue limits, and slots reserved for critical tasks — lower-priority work may use at most
 * `total - reserved`, so a backlog (or long-running low jobs) can never take the last slots from a
 * critical task.
 */
export interface Room {
  /** Jobs of any priority this queue may claim now. */
  any: number;
  /** Of those, how many may be below critical. */
  nonCritical: number;
}

export class Slots {
  readonly total: number;
  readonly reserved: number;
  readonly #perQueueLimit: Record<string, number>;
  #active = 0;
  #activeNonCritical = 0;
  readonly #perQueue = new Map<string, number>();
  readonly #waiters = new Set<() => void>();

  constructor(total: number, reserved: number, perQueueLimit: Record<string, number> = {}) {
    this.total = total;
    this.reserved = Math.min(reserved, Math.max(0, total - 1));
    this.#perQueueLimit = perQueueLimit;
  }

  get active(): number {
    return this.#active;
  }

  activeIn(queue: string): number {
    return this.#perQueue.get(queue) ?? 0;
  }

  room(queue: string): Room {
    const queueLimit = this.#perQueueLimit[queue] ?? this.total;
    const any = Math.max(0, Math.min(this.total - this.#active, queueLimit - this.activeIn(queue)));
    const nonCritical = Math.max(0, Math.min(any, this.total - this.reserved - this.#activeNonCritical));
    return { any, nonCritical };
  }

  acquire(queue: string, critical: boolean): void {
    this.#active++;
    if (!critical) this.#activeNonCritical++;
    this.#perQueue.set(queue, this.activeIn(queue) + 1);
  }

  release(queue: string, critical: boolean): void {
    this.#active--;
    if (!critical) this.#activeNonCritical--;
    this.#perQueue.set(queue, this.activeIn(queue) - 1);
    for (const wake of this.#waiters) wake();
  }

  /** Call `wake` whenever a slot frees; returns the unsubscribe function. */
  onRelease(wake: () => void): () => void {
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }
}
