/**
 * Worker presence: this replica's row in `taskfleet.workers` (slots in use, limit, queues), upserted
 * every few seconds and deleted on stop, so the API can show the fleet (dashboard, CLI). A replica
 * that dies leaves a stale row; readers ignore rows not seen for a while, and the next replica to
 * publish deletes rows older than an hour.
 */
import { hostname } from 'node:os';
import { deletePresence, type ExecuteSql, type Logger, prunePresence, upsertPresence } from '@taskfleet/core';

export interface PresenceOptions {
  executeSql: ExecuteSql;
  logger: Logger;
  id: string;
  queues: string[];
  concurrency: number;
  active: () => number;
  intervalMs: number;
}

export class Presence {
  readonly #o: PresenceOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: PresenceOptions) {
    this.#o = options;
  }

  async publish(): Promise<void> {
    const { executeSql, id, queues, concurrency } = this.#o;
    await upsertPresence(executeSql, { id, hostname: hostname(), pid: process.pid, queues, concurrency, active: this.#o.active() });
    await prunePresence(executeSql);
  }

  start(): void {
    const tick = () =>
      this.publish().catch((err: unknown) => this.#o.logger.debug({ err }, 'worker presence not published (database unavailable?)'));
    void tick();
    this.#timer = setInterval(tick, this.#o.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await deletePresence(this.#o.executeSql, this.#o.id).catch((err: unknown) =>
      this.#o.logger.debug({ err }, 'worker presence not removed'),
    );
  }
}
