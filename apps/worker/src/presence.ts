/**
 * Worker presence: this worker process's row in `taskfleet.workers` (slots in use, limit, queues),
 * upserted every beat (WORKER_PRESENCE_INTERVAL_MS, 1 s) and deleted on a clean stop. Other replicas
 * read it to tell a live replica from a dead one (rescuer.ts), the API to show the fleet. The row is
 * keyed by the process's incarnation; stale rows are pruned after an hour.
 */
import { hostname } from 'node:os';
import { deletePresence, type ExecuteSql, type Logger, prunePresence, upsertPresence } from '@taskfleet/core';

export interface PresenceOptions {
  executeSql: ExecuteSql;
  logger: Logger;
  id: string;
  incarnation: string;
  queues: string[];
  concurrency: number;
  active: () => number;
  intervalMs: number;
  /** After each beat: whether it reached the database. */
  afterBeat?: (ok: boolean) => Promise<void>;
}

/** Prune stale rows once per this many beats. */
const PRUNE_EVERY = 60;

export class Presence {
  readonly #o: PresenceOptions;
  #timer: NodeJS.Timeout | undefined;
  #beats = 0;
  #beating: Promise<void> | undefined;

  constructor(options: PresenceOptions) {
    this.#o = options;
  }

  async publish(): Promise<void> {
    const { executeSql, id, incarnation, queues, concurrency } = this.#o;
    await upsertPresence(executeSql, incarnation, {
      id,
      hostname: hostname(),
      pid: process.pid,
      queues,
      concurrency,
      active: this.#o.active(),
    });
    if (this.#beats++ % PRUNE_EVERY === 0) await prunePresence(executeSql);
  }

  async #beat(): Promise<void> {
    let ok = true;
    await this.publish().catch((err: unknown) => {
      ok = false;
      this.#o.logger.debug({ err }, 'worker presence not published (database unavailable?)');
    });
    await this.#o.afterBeat?.(ok);
  }

  /** Publish now (before the first claim: a job is never stamped by an incarnation others cannot see), then every beat. */
  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => {
        this.#beating = undefined;
      });
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
    await deletePresence(this.#o.executeSql, this.#o.incarnation).catch((err: unknown) =>
      this.#o.logger.debug({ err }, 'worker presence not removed'),
    );
  }
}
