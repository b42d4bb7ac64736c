/**
 * Long-poll waiters of one API replica, by task id: a request waits until its task has ended
 * (completed, failed, dead-lettered, cancelled), its wait is over, its client has gone, or the
 * replica shuts down — whichever comes first. No query per waiter while it waits: the replica's one
 * LISTEN connection (listener.ts) reports the ends of watched tasks and one read answers every
 * waiter of that task. While LISTEN is down, one shared re-check (every `fallbackIntervalMs`, one
 * statement for all waited-for ids) stands in for it. At most `maxWaiters` at once: beyond, 503.
 */
import { endedTaskIds, type ExecuteSql, getTask, getTasks, isEndedState, type Logger, type TaskRow, watchTask } from '@taskfleet/core';
import { problems } from '../problem.ts';

/** Why a wait ended: the task ended, the wait ran out, or the replica is shutting down. */
export type WaitOutcome = 'ended' | 'timeout' | 'shutdown';

export interface WaitResult {
  row: TaskRow;
  outcome: WaitOutcome;
}

interface Waiter {
  queue: string;
  settle: (outcome: WaitOutcome | 'aborted', row?: TaskRow) => void;
}

export interface TaskWaitersOptions {
  executeSql: ExecuteSql;
  logger: Logger;
  maxWaiters: number;
  /** Shared by the waiters of every shard on this replica, so `maxWaiters` bounds the replica. */
  budget?: { count: number };
  /** Re-check period while the LISTEN connection is down. @defaultValue 1000 */
  fallbackIntervalMs?: number;
}

export class TaskWaiters {
  readonly #o: TaskWaitersOptions;
  readonly #byId = new Map<string, Set<Waiter>>();
  /** Ends announced and not yet read. */
  readonly #ended = new Set<string>();
  #count = 0;
  readonly #budget: { count: number };
  #listening = false;
  #closing = false;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: TaskWaitersOptions) {
    this.#o = options;
    this.#budget = options.budget ?? { count: 0 };
    this.#scheduleSweep();
  }

  /** Requests waiting now. */
  get size(): number {
    return this.#count;
  }

  /** The LISTEN connection's state: down → re-check periodically; up again → check once now. */
  setListening(up: boolean): void {
    this.#listening = up;
    if (up) void this.#sweep();
    this.#scheduleSweep();
  }

  /**
   * A watched task ended (NOTIFY): read it once and answer its waiters. The ends that arrive
   * together (a worker completes a batch) are read together, in one statement per queue.
   */
  ended(id: string): void {
    if (!this.#byId.has(id)) return;
    this.#ended.add(id);
    if (this.#ended.size === 1) setImmediate(() => void this.#readEnded());
  }

  async #readEnded(): Promise<void> {
    const byQueue = new Map<string, string[]>();
    for (const id of this.#ended) {
      const first = this.#byId.get(id)?.values().next().value;
      if (!first) continue;
      const ids = byQueue.get(first.queue);
      if (ids) ids.push(id);
      else byQueue.set(first.queue, [id]);
    }
    this.#ended.clear();
    for (const [queue, ids] of byQueue) {
      try {
        const rows = await getTasks(this.#o.executeSql, queue, ids);
        for (const [id, row] of rows) for (const w of this.#byId.get(id) ?? []) w.settle('ended', row);
      } catch (err) {
        this.#o.logger.warn({ err, queue, tasks: ids.length }, 'long-poll read failed; those waiters answer at their timeout');
      }
    }
  }

  /**
   * Wait up to `seconds` for the task to end. Undefined when there is no such task, `visible`
   * refuses it, or the client went away. Throws 503 beyond `maxWaiters`.
   */
  async wait(
    queue: string,
    id: string,
    seconds: number,
    signal: AbortSignal,
    visible: (row: TaskRow) => boolean = () => true,
  ): Promise<WaitResult | undefined> {
    const { executeSql } = this.#o;
    if (this.#closing) {
      const row = await getTask(executeSql, queue, id);
      return row && visible(row) ? { row, outcome: 'shutdown' } : undefined;
    }
    if (this.#budget.count >= this.#o.maxWaiters)
      throw problems.overloaded(`This replica holds its maximum of ${this.#o.maxWaiters} long-poll requests; retry shortly or poll.`, 1);
    let settle!: Waiter['settle'];
    const settled = new Promise<{ outcome: WaitOutcome | 'aborted'; row?: TaskRow }>((resolve) => {
      settle = (outcome, row) => resolve({ outcome, row });
    });
    // Registered before the read that marks the task watched, so no end NOTIFY can slip between them.
    const waiter: Waiter = { queue, settle };
    this.#add(id, waiter);
    const timer = setTimeout(() => settle('timeout'), seconds * 1000);
    const onAbort = () => settle('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const row = await watchTask(executeSql, queue, id);
      if (!row || !visible(row)) return undefined;
      if (isEndedState(row.state)) return { row, outcome: 'ended' };
      const { outcome, row: endedRow } = await settled;
      if (outcome === 'aborted') return undefined;
      const current = endedRow ?? (await getTask(executeSql, queue, id));
      return current && { row: current, outcome };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      this.#remove(id, waiter);
    }
  }

  /** Shutdown: answer every waiter now with the task's current state, and refuse to wait from now on. */
  release(): void {
    this.#closing = true;
    clearTimeout(this.#sweepTimer);
    for (const waiters of this.#byId.values()) for (const w of waiters) w.settle('shutdown');
  }

  #add(id: string, waiter: Waiter): void {
    const set = this.#byId.get(id);
    if (set) set.add(waiter);
    else this.#byId.set(id, new Set([waiter]));
    this.#count++;
    this.#budget.count++;
  }

  #remove(id: string, waiter: Waiter): void {
    const set = this.#byId.get(id);
    if (!set?.delete(waiter)) return;
    this.#count--;
    this.#budget.count--;
    if (set.size === 0) this.#byId.delete(id);
  }

  #scheduleSweep(): void {
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    if (this.#listening || this.#closing) return;
    this.#sweepTimer = setTimeout(() => {
      void this.#sweep().finally(() => this.#scheduleSweep());
    }, this.#o.fallbackIntervalMs ?? 1000);
    this.#sweepTimer.unref();
  }

  /** One statement for every waited-for task: answer the waiters of those that have ended. */
  async #sweep(): Promise<void> {
    if (this.#byId.size === 0) return;
    try {
      for (const id of await endedTaskIds(this.#o.executeSql, [...this.#byId.keys()])) this.ended(id);
    } catch (err) {
      this.#o.logger.warn({ err }, 'long-poll re-check failed');
    }
  }

  close(): void {
    this.release();
  }
}
