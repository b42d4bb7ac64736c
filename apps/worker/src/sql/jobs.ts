/** The worker's own statements on pg-boss's job table (everything else goes through pg-boss's API). */
import type { ExecutePrepared, ExecuteSql } from '@taskfleet/core';
import { PGBOSS_SCHEMA } from '@taskfleet/core';

const S = PGBOSS_SCHEMA;

export interface Completion {
  id: string;
  retryCount: number;
  output: unknown;
}

/**
 * Complete many active jobs of one queue, each with its own output, in one prepared statement.
 * Fenced on (id, retry_count) and state 'active', like pg-boss's own completion: an attempt that
 * already timed out or was taken over by another worker is left alone. Returns the ids completed.
 */
export async function completeJobs(executeSql: ExecutePrepared, queue: string, items: Completion[]): Promise<string[]> {
  const { rows } = await executeSql({
    name: 'taskfleet_complete_jobs_v1',
    text: `UPDATE ${S}.job j SET state = 'completed', completed_on = ${S}.job_now(), output = i.output
           FROM unnest($2::uuid[], $3::int[], $4::jsonb[]) AS i(id, retry_count, output)
           WHERE j.name = $1 AND j.id = i.id AND j.retry_count = i.retry_count AND j.state = 'active'
           RETURNING j.id`,
    values: [
      queue,
      items.map((i) => i.id),
      items.map((i) => i.retryCount),
      items.map((i) => (i.output === undefined ? null : JSON.stringify(i.output))),
    ],
  });
  return rows.map((r: { id: string }) => r.id);
}

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
