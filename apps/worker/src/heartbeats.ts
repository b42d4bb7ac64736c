/**
 * Job heartbeats: every 2 s, touch (pg-boss `touch()`) the running jobs whose queue expects
 * heartbeats, at half their interval, so pg-boss does not expire an attempt that is still running.
 * The replica's own liveness is its presence row (presence.ts).
 */
import type { Logger } from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { coerceError } from './errors.ts';
import type { JobRunner } from './job-runner.ts';

const TICK_MS = 2000;

export interface HeartbeatsDeps {
  boss: PgBoss;
  runner: JobRunner;
  logger: Logger;
}

export class Heartbeats {
  readonly #d: HeartbeatsDeps;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: HeartbeatsDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.beat(), TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Touch the running jobs that are due, one statement per queue. */
  async beat(): Promise<void> {
    const now = Date.now();
    const due = new Map<string, { id: string; retryCount: number }[]>();
    for (const job of this.#d.runner.running.values()) {
      if (!job.heartbeatSeconds || now - job.lastTouch < (job.heartbeatSeconds * 1000) / 2) continue;
      job.lastTouch = now;
      const list = due.get(job.queue) ?? [];
      list.push({ id: job.id, retryCount: job.retryCount });
      due.set(job.queue, list);
    }
    for (const [queue, attempts] of due) {
      await this.#d.boss
        .touch(queue, attempts)
        .catch((err: unknown) => this.#d.logger.warn({ err: coerceError(err), queue }, 'heartbeat failed'));
    }
  }
}
