/**
 * Cached queue depths (one scan for every queue, single-flight, served stale while it refreshes), and
 * the per-queue high-water check for load shedding. Neither ever makes a request wait on a count:
 * shedding uses the last known depth and refreshes it in the background.
 */
import type { ExecuteSql } from '@taskfleet/core';
import type { Logger } from '@taskfleet/core';
import { type QueueDepthRow, queueDepths, readyDepthUpTo } from '@taskfleet/core';

/**
 * A value loaded by a query that is too costly for the request path, single-flight and served
 * stale-while-revalidate: only the first read waits; after that a read gets the last value, and a
 * stale one starts a background refresh (a failed refresh keeps the last value). Used for the queue
 * listing (the scan walks every retained row, finished ones included — waiting on it pushed the
 * API's p99 from 46 ms to 770 ms in a soak as 640,000 finished tasks accumulated) and for the
 * dashboard's per-minute throughput.
 */
export class CachedValue<T> {
  #value: { value: T; at: number } | undefined;
  #loading: Promise<T> | undefined;
  #failing = false;
  readonly #load: () => Promise<T>;
  readonly #maxAgeMs: number;
  constructor(load: () => Promise<T>, maxAgeMs: number) {
    this.#load = load;
    this.#maxAgeMs = maxAgeMs;
  }

  /** The last load failed: `get()` serves the last value it had (a shard's database down, say). */
  get failing(): boolean {
    return this.#failing;
  }

  async get(): Promise<T> {
    const stale = !this.#value || Date.now() - this.#value.at >= this.#maxAgeMs;
    if (stale) {
      this.#loading ??= this.#load()
        .then(
          (value) => {
            this.#value = { value, at: Date.now() };
            this.#failing = false;
            return value;
          },
          (err: unknown) => {
            this.#failing = true;
            throw err;
          },
        )
        .finally(() => {
          this.#loading = undefined;
        });
    }
    if (this.#value) {
      this.#loading?.catch(() => undefined);
      return this.#value.value;
    }
    return this.#loading as Promise<T>;
  }
}

/** Queue depths for GET /v1/queues: one scan for every queue, at most every 5 s. */
export function queueDepthCache(executeSql: ExecuteSql): CachedValue<QueueDepthRow[]> {
  return new CachedValue(() => queueDepths(executeSql), 5000);
}

export class DepthShedder {
  readonly #depth = new Map<string, { n: number; at: number; refreshing: boolean }>();
  readonly #executeSql: ExecuteSql;
  readonly #limit: number;
  readonly #logger: Logger;
  readonly #refreshMs: number;
  constructor(executeSql: ExecuteSql, limit: number, logger: Logger, refreshMs = 1000) {
    this.#executeSql = executeSql;
    this.#limit = limit;
    this.#logger = logger;
    this.#refreshMs = refreshMs;
  }

  get enabled(): boolean {
    return this.#limit > 0;
  }

  /** True when the queue's last known ready depth is above the high-water mark. */
  shouldShed(queue: string): boolean {
    if (!this.enabled) return false;
    let entry = this.#depth.get(queue);
    if (!entry) {
      entry = { n: 0, at: 0, refreshing: false };
      this.#depth.set(queue, entry);
    }
    if (!entry.refreshing && Date.now() - entry.at > this.#refreshMs) {
      entry.refreshing = true;
      const e = entry;
      readyDepthUpTo(this.#executeSql, queue, this.#limit + 1)
        .then((n) => {
          e.n = n;
          e.at = Date.now();
        })
        .catch((err: unknown) => this.#logger.warn({ err, queue }, 'queue depth check failed'))
        .finally(() => {
          e.refreshing = false;
        });
    }
    return entry.n > this.#limit;
  }

  /** Wait for in-flight refreshes (tests). */
  async settle(queue: string): Promise<void> {
    while (this.#depth.get(queue)?.refreshing) await new Promise((r) => setTimeout(r, 5));
  }
}
