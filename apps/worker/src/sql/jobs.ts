/** The worker's statements on pg-boss's job table for failures (claim and completion: claim.ts; the rest goes through pg-boss's API). */
import type { ExecuteSql } from '@taskfleet/core';
import { PGBOSS_SCHEMA } from '@taskfleet/core';

const S = PGBOSS_SCHEMA;

/** Make the running attempt the last one (a permanent error): the next fail() is terminal. */
export async function makeLastAttempt(executeSql: ExecuteSql, queue: string, id: string, retryCount: number): Promise<void> {
  await executeSql(`UPDATE ${S}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2 AND retry_count = $3 AND state = 'active'`, [
    queue,
    id,
    retryCount,
  ]);
}

/** Give the attempt back (shutdown): the next fail() retries without using up an attempt. */
export async function refundAttempt(executeSql: ExecuteSql, queue: string, id: string, retryCount: number): Promise<void> {
  await executeSql(
    `UPDATE ${S}.job SET retry_limit = retry_limit + 1 WHERE name = $1 AND id = $2 AND retry_count = $3 AND state = 'active'`,
    [queue, id, retryCount],
  );
}

/** After fail() scheduled a retry, push it back to honour a receiver's Retry-After. */
export async function delayRetry(executeSql: ExecuteSql, queue: string, id: string, seconds: number): Promise<void> {
  await executeSql(
    `UPDATE ${S}.job SET start_after = greatest(start_after, ${S}.job_now() + $3 * interval '1 second') WHERE name = $1 AND id = $2 AND state = 'retry'`,
    [queue, id, seconds],
  );
}
