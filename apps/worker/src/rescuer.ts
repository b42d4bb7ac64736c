/**
 * Dead-replica rescue, run after each presence beat of this replica:
 * - give back the running jobs of worker processes that have not beaten for WORKER_DEAD_AFTER_SECONDS
 *   (store/rescue.ts: fenced on the attempt, so exactly once across replicas; the attempt counts);
 * - after this replica itself missed beats (a pause, a partition, a database outage), find which of
 *   its own running jobs were given back meanwhile and abort their handlers — their completions are
 *   refused by the attempt fence anyway.
 * A replica rescues others only after beating without a gap for the dead-after window itself, so
 * after a database outage, when every row is stale, nobody rescues a replica that is merely catching up.
 */
import { type ExecuteSql, findDeadClaims, type Logger, rescueAttempts, takenOver } from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { coerceError } from './errors.ts';
import type { WorkerEvents } from './events.ts';
import type { JobRunner } from './job-runner.ts';

export interface RescuerDeps {
  boss: PgBoss;
  executeSql: ExecuteSql;
  incarnation: string;
  deadAfterSeconds: number;
  presenceIntervalMs: number;
  runner: JobRunner;
  events: WorkerEvents;
  logger: Logger;
}

export class Rescuer {
  readonly #d: RescuerDeps;
  /** Since when this replica has beaten without a gap; undefined after a failed beat. */
  #steadySince: number | undefined;
  #lastBeat: number | undefined;

  constructor(deps: RescuerDeps) {
    this.#d = deps;
  }

  /** After a beat (ok: it reached the database). Errors are logged, never thrown. */
  async afterBeat(ok: boolean, now = performance.now()): Promise<void> {
    const { presenceIntervalMs, deadAfterSeconds, logger } = this.#d;
    if (!ok) {
      this.#steadySince = undefined;
      return;
    }
    const gap = this.#lastBeat === undefined ? 0 : now - this.#lastBeat;
    this.#lastBeat = now;
    // Others declare this replica dead once its row is deadAfterSeconds old: a gap close to that (a
    // pause, a stall, an outage) means they may have. A shorter one — a slow beat under load — does not.
    const suspect = this.#steadySince === undefined || gap >= deadAfterSeconds * 1000 - presenceIntervalMs;
    if (suspect) this.#steadySince = now;
    try {
      if (suspect) await this.#takeBackGivenAway();
      if (now - (this.#steadySince ?? now) >= deadAfterSeconds * 1000) await this.#rescueDead();
    } catch (err) {
      logger.warn({ err: coerceError(err) }, 'dead-replica check failed; the next beat tries again');
    }
  }

  async #takeBackGivenAway(): Promise<void> {
    const { executeSql, incarnation, runner, events, logger } = this.#d;
    const mine = [...runner.running.values()].map((j) => ({ id: j.id, retryCount: j.retryCount }));
    const lost = await takenOver(executeSql, incarnation, mine);
    if (lost.length === 0) return;
    logger.warn(
      { jobs: lost.length, ids: lost.slice(0, 10) },
      'running jobs were given back while this replica was unreachable; aborting them',
    );
    runner.takeBack(lost);
    events.emit('jobs:taken-over', { ids: lost });
  }

  async #rescueDead(): Promise<void> {
    const { boss, executeSql, incarnation, deadAfterSeconds, events, logger } = this.#d;
    for (const dead of await findDeadClaims(executeSql, incarnation, deadAfterSeconds)) {
      const count = await rescueAttempts(boss, dead.queue, dead.attempts, {
        name: 'WorkerLostError',
        message: `worker process ${dead.owner} stopped beating for ${deadAfterSeconds} s; the attempt was given back to the queue`,
      });
      if (count === 0) continue; // another replica was first
      logger.warn(
        { queue: dead.queue, owner: dead.owner, jobs: count, ids: dead.attempts.slice(0, 10).map((a) => a.id) },
        'gave a dead replica’s running jobs back to their queue',
      );
      events.emit('jobs:rescued', { queue: dead.queue, owner: dead.owner, count, reason: 'replica_dead' });
    }
  }
}
