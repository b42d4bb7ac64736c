/**
 * Group commit: concurrent single-task requests are coalesced into one multi-row insert per queue.
 * A flush starts as soon as a connection slot is free (after `windowMs`, if set) and takes what
 * has accumulated, up to `maxRows`; while `concurrency` flushes are in flight, new rows wait and
 * go together in the next one. So at low load a task is committed at once; under load the
 * statements grow instead of the queueing.
 *
 * Each caller's promise settles only after the statement that holds its row has committed (an
 * autocommit INSERT has returned). A failed statement fails exactly its rows: a data error is
 * retried row by row so one bad row cannot sink its neighbours; a connection error fails them all
 * (and the API answers 503). Rows with the same id in one flush (one idempotency key used by
 * concurrent requests) are inserted once; the others learn they are duplicates.
 *
 * Bounded: `queueLimit` rows may wait; beyond it `submit` throws GroupCommitFullError at once.
 * A row still waiting after `timeoutMs` is removed (never written) and its caller gets
 * GroupCommitTimeoutError. A row already in a flush is never abandoned.
 */
import type { JobInsert } from 'pg-boss';

export type InsertRows = (queue: string, rows: (JobInsert & { id: string })[]) => Promise<string[]>;

export class GroupCommitFullError extends Error {
  constructor(limit: number) {
    super(`the group-commit buffer is full (${limit} tasks waiting)`);
    this.name = 'GroupCommitFullError';
  }
}
export class GroupCommitTimeoutError extends Error {
  constructor(ms: number) {
    super(`the task waited ${ms} ms for a group commit and was not written`);
    this.name = 'GroupCommitTimeoutError';
  }
}
export class GroupCommitClosedError extends Error {
  constructor() {
    super('the API is shutting down');
    this.name = 'GroupCommitClosedError';
  }
}

interface Item {
  queue: string;
  row: JobInsert & { id: string };
  resolve: (inserted: boolean) => void;
  reject: (err: unknown) => void;
  /** performance.now() when it joined the buffer. */
  since: number;
}

export interface GroupCommitOptions {
  insert: InsertRows;
  maxRows: number;
  windowMs: number;
  concurrency: number;
  queueLimit: number;
  timeoutMs: number;
  /** Observes each statement (rows, outcome, duration) for metrics. */
  onStatement?: (event: { queue: string; rows: number; ok: boolean; seconds: number }) => void;
}

/** PostgreSQL data exceptions and integrity violations: caused by a row, not by the connection. */
export function isRowError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return code.startsWith('22') || code.startsWith('23');
}

type StatementObserver = GroupCommitOptions['onStatement'];
type Row = JobInsert & { id: string };

/**
 * Insert rows into one queue in one statement. Rows repeating an id are inserted once: the first
 * gets the outcome, later ones `false` (duplicate). A data error retries row by row, so a bad row
 * fails alone. Returns each input row's outcome: `true` inserted, `false` duplicate, or the error.
 */
export async function insertDeduped<R extends Row>(
  insert: InsertRows,
  queue: string,
  rows: R[],
  onStatement?: StatementObserver,
): Promise<Map<R, boolean | Error>> {
  const first = new Map<string, R>();
  for (const row of rows) if (!first.has(row.id)) first.set(row.id, row);
  const byId = await insertOrSplit(insert, queue, [...first.values()], onStatement);
  const outcomes = new Map<R, boolean | Error>();
  for (const row of rows) {
    const outcome = byId.get(row.id) ?? new Error('row outcome unknown');
    outcomes.set(row, first.get(row.id) === row || outcome instanceof Error ? outcome : false);
  }
  return outcomes;
}

async function insertOrSplit(
  insert: InsertRows,
  queue: string,
  rows: Row[],
  onStatement?: StatementObserver,
): Promise<Map<string, boolean | Error>> {
  const outcomes = new Map<string, boolean | Error>();
  const started = performance.now();
  try {
    const inserted = new Set(await insert(queue, rows));
    onStatement?.({ queue, rows: rows.length, ok: true, seconds: (performance.now() - started) / 1000 });
    for (const row of rows) outcomes.set(row.id, inserted.has(row.id));
  } catch (err) {
    onStatement?.({ queue, rows: rows.length, ok: false, seconds: (performance.now() - started) / 1000 });
    if (isRowError(err) && rows.length > 1) {
      for (const row of rows) for (const [id, outcome] of await insertOrSplit(insert, queue, [row], onStatement)) outcomes.set(id, outcome);
    } else {
      for (const row of rows) outcomes.set(row.id, err instanceof Error ? err : new Error(String(err)));
    }
  }
  return outcomes;
}

export class GroupCommitter {
  readonly #o: GroupCommitOptions;
  #pending: Item[] = [];
  #inFlight = 0;
  #scheduled = false;
  #closed = false;
  #idle: (() => void)[] = [];
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: GroupCommitOptions) {
    this.#o = options;
  }

  /**
   * Time out rows that waited too long. One sweep for the whole buffer (the oldest rows are at its
   * head) instead of a timer per row: timers were a measurable share of an enqueue's CPU.
   */
  #sweep(): void {
    const limit = performance.now() - this.#o.timeoutMs;
    let expired = 0;
    while (expired < this.#pending.length && (this.#pending[expired] as Item).since <= limit) expired++;
    for (const item of this.#pending.splice(0, expired)) item.reject(new GroupCommitTimeoutError(this.#o.timeoutMs));
    if (this.#pending.length === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Rows waiting for a flush. */
  get waiting(): number {
    return this.#pending.length;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves `true` once the row is committed, `false` if a row with its id already existed. */
  submit(queue: string, row: JobInsert & { id: string }): Promise<boolean> {
    if (this.#closed) return Promise.reject(new GroupCommitClosedError());
    if (this.#pending.length >= this.#o.queueLimit) return Promise.reject(new GroupCommitFullError(this.#o.queueLimit));
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.push({ queue, row, resolve, reject, since: performance.now() });
      if (!this.#sweeper) {
        this.#sweeper = setInterval(() => this.#sweep(), Math.max(10, Math.min(1000, this.#o.timeoutMs / 10)));
        this.#sweeper.unref();
      }
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#pending.length === 0 || this.#inFlight >= this.#o.concurrency) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      void this.#flush();
    };
    if (this.#o.windowMs > 0) setTimeout(run, this.#o.windowMs);
    else setImmediate(run);
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0 || this.#inFlight >= this.#o.concurrency) return;
    const batch = this.#pending.splice(0, this.#o.maxRows);
    this.#inFlight++;
    this.#schedule(); // more waiting and a free slot: start the next flush too
    try {
      const byQueue = new Map<string, Item[]>();
      for (const item of batch) {
        const list = byQueue.get(item.queue);
        if (list) list.push(item);
        else byQueue.set(item.queue, [item]);
      }
      await Promise.all([...byQueue].map(([queue, items]) => this.#insertQueue(queue, items)));
    } finally {
      this.#inFlight--;
      this.#schedule();
      if (this.#inFlight === 0 && this.#pending.length === 0) for (const done of this.#idle.splice(0)) done();
    }
  }

  async #insertQueue(queue: string, items: Item[]): Promise<void> {
    const outcomes = await insertDeduped(
      this.#o.insert,
      queue,
      items.map((i) => i.row),
      this.#o.onStatement,
    );
    for (const item of items) {
      const outcome = outcomes.get(item.row);
      if (outcome instanceof Error || outcome === undefined) item.reject(outcome ?? new Error('row outcome unknown'));
      else item.resolve(outcome);
    }
  }

  /** Stop accepting rows and wait until every accepted row has been flushed. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.drain();
  }

  /** Wait until nothing is waiting or in flight. */
  drain(): Promise<void> {
    if (this.#inFlight === 0 && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle.push(resolve);
      this.#schedule();
    });
  }
}
