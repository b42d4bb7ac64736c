/**
 * Worker presence: this replica's row in `taskfleet.workers` (slots in use, limit, queues), upserted
 * every few seconds and deleted on stop, so the API can show the fleet (dashboard, CLI). A replica
 * that dies leaves a stale row; readers ignore rows not seen for a while, and the next replica to
 * publish deletes rows older than an hour.
 */
import { hostname } from 'node:os';
import type { ExecuteSql, Logger } from '@taskfleet/core';

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
    await executeSql(
      `INSERT INTO taskfleet.workers (id, hostname, pid, queues, concurrency, active)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET active = EXCLUDED.active, queues = EXCLUDED.queues, concurrency = EXCLUDED.concurrency,
         pid = EXCLUDED.pid, hostname = EXCLUDED.hostname, seen_at = now()`,
      [id, hostname(), process.pid, queues, concurrency, this.#o.active()],
    );
    await executeSql(`DELETE FROM taskfleet.workers WHERE seen_at < now() - interval '1 hour'`);
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
    await this.#o
      .executeSql('DELETE FROM taskfleet.workers WHERE id = $1', [this.#o.id])
      .catch((err: unknown) => this.#o.logger.debug({ err }, 'worker presence not removed'));
  }
}
