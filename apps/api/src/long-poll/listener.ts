/**
 * The replica's one LISTEN connection for task ends (TASK_END_CHANNEL, sent by migration 000014's
 * trigger for watched tasks): a dedicated pg.Client outside the query pool, reconnecting with
 * capped backoff. `onState(false)` when it is lost, `onState(true)` when it (re)connects: the
 * waiters fall back to a shared re-check meanwhile, and check once on reconnect for the ends they
 * missed.
 */
import { type Logger, TASK_END_CHANNEL } from '@taskfleet/core';
import pg from 'pg';

export interface TaskEndListenerOptions {
  url: string;
  logger: Logger;
  /** A watched task ended (its id). */
  onEnd: (id: string) => void;
  onState: (up: boolean) => void;
  /** @defaultValue 30_000 */
  maxBackoffMs?: number;
}

export class TaskEndListener {
  readonly #o: TaskEndListenerOptions;
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #closed = false;
  up = false;

  constructor(options: TaskEndListenerOptions) {
    this.#o = options;
  }

  /** Connect (never throws: a failure is retried in the background, and the waiters poll meanwhile). */
  async start(): Promise<void> {
    await this.#connect().catch((err: unknown) => this.#retry(err));
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#o.url, application_name: 'taskfleet-api-long-poll', keepAlive: true });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('LISTEN connection ended')));
    client.on('notification', (msg) => {
      if (msg.payload) this.#o.onEnd(msg.payload);
    });
    this.#client = client;
    try {
      await client.connect();
      await client.query(`LISTEN "${TASK_END_CHANNEL}"`);
    } catch (err) {
      this.#drop(client);
      throw err;
    }
    if (this.#closed) {
      this.#drop(client);
      return;
    }
    this.#attempt = 0;
    this.up = true;
    this.#o.onState(true);
  }

  #drop(client: pg.Client): void {
    if (this.#client === client) this.#client = undefined;
    client.removeAllListeners();
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
  }

  #lost(client: pg.Client, err: unknown): void {
    if (this.#client !== client) return;
    this.#drop(client);
    if (this.up) {
      this.up = false;
      this.#o.onState(false);
    }
    this.#retry(err);
  }

  #retry(err: unknown): void {
    if (this.#closed || this.#timer) return;
    const delay = Math.min(this.#o.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(this.#attempt, 8));
    this.#attempt++;
    this.#o.logger.warn({ err, retryInMs: delay }, 'long-poll LISTEN connection unavailable; waiters re-check periodically');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect().catch((e: unknown) => this.#retry(e));
    }, delay);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.up = false;
    if (client) {
      this.#client = undefined;
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
