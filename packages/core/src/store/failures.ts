/**
 * A failed attempt, recorded in one transaction: pg-boss's `fail()` (which computes the retry
 * backoff and writes the dead-letter copy) with the statements around it — make it the last
 * attempt, give it back, or delay its retry. Each is fenced on the attempt (id, retry_count, state)
 * like the completion.
 */
import type { PgBoss } from 'pg-boss';
import type { ExecuteSql } from './executor.ts';
import { PGBOSS_SCHEMA } from './names.ts';

const S = PGBOSS_SCHEMA;

/** Make the running attempt the last one (a permanent error): the next fail() is terminal. */
async function makeLastAttempt(executeSql: ExecuteSql, queue: string, id: string, retryCount: number): Promise<void> {
  await executeSql(`UPDATE ${S}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2 AND retry_count = $3 AND state = 'active'`, [
    queue,
    id,
    retryCount,
  ]);
}

/** Give the attempt back (shutdown): the next fail() retries without using up an attempt. */
async function refundAttempt(executeSql: ExecuteSql, queue: string, id: string, retryCount: number): Promise<void> {
  await executeSql(
    `UPDATE ${S}.job SET retry_limit = retry_limit + 1 WHERE name = $1 AND id = $2 AND retry_count = $3 AND state = 'active'`,
    [queue, id, retryCount],
  );
}

/** After fail() scheduled a retry, push it back to honour a receiver's Retry-After. */
async function delayRetry(executeSql: ExecuteSql, queue: string, id: string, seconds: number): Promise<void> {
  await executeSql(
    `UPDATE ${S}.job SET start_after = greatest(start_after, ${S}.job_now() + $3 * interval '1 second') WHERE name = $1 AND id = $2 AND state = 'retry'`,
    [queue, id, seconds],
  );
}

export interface FailedAttempt {
  queue: string;
  id: string;
  retryCount: number;
  /** Stored as the job's output (the error and the attempts' history). */
  output: object;
  /** `last`: no retry whatever the retry limit (a permanent error); `refund`: retry without using up an attempt (shutdown). */
  attempt?: 'last' | 'refund';
  /** Retry no sooner than this (a receiver's Retry-After). */
  retryAfterSeconds?: number;
}

/**
 * Record a failed attempt. One statement when pg-boss's `fail()` is all it takes; otherwise the
 * statements run in one transaction on one connection of pg-boss's pool, so a crash between them
 * cannot leave a refunded attempt without its failure, or a retry without its delay.
 */
export async function recordFailure(boss: PgBoss, f: FailedAttempt): Promise<void> {
  const attemptRef = { id: f.id, retryCount: f.retryCount };
  const db = boss.getDb();
  if (!f.attempt && !f.retryAfterSeconds) {
    await boss.fail(f.queue, attemptRef, f.output);
    return;
  }
  if (!db.beginTransaction) throw new Error("pg-boss's database adapter cannot open a transaction");
  const tx = await db.beginTransaction();
  try {
    const executeSql: ExecuteSql = (text, values) => tx.db.executeSql(text, values);
    if (f.attempt === 'last') await makeLastAttempt(executeSql, f.queue, f.id, f.retryCount);
    if (f.attempt === 'refund') await refundAttempt(executeSql, f.queue, f.id, f.retryCount);
    await boss.fail(f.queue, attemptRef, f.output, { db: tx.db });
    if (f.retryAfterSeconds) await delayRetry(executeSql, f.queue, f.id, f.retryAfterSeconds);
    await tx.commit();
  } catch (err) {
    await tx.rollback().catch(() => undefined);
    throw err;
  }
}

/**
 * Put a running attempt back unrun (a fleet-wide limit held it): ready again after `seconds`, and
 * `started_on` cleared so the next claim does not count a new attempt — the attempt was not used,
 * however often it is deferred. Fenced on the attempt like the completion; false if it was no longer
 * this attempt.
 */
export async function deferAttempt(
  executeSql: ExecuteSql,
  queue: string,
  id: string,
  retryCount: number,
  seconds: number,
): Promise<boolean> {
  const { rows } = await executeSql(
    `UPDATE ${S}.job SET state = CASE WHEN retry_count = 0 THEN 'created' ELSE 'retry' END::${S}.job_state, started_on = NULL,
       start_after = ${S}.job_now() + $4 * interval '1 second'
     WHERE name = $1 AND id = $2 AND retry_count = $3 AND state = 'active' RETURNING id`,
    [queue, id, retryCount, seconds],
  );
  return rows.length > 0;
}
