/**
 * The worker's claim: `taskfleet.claim_jobs` (migration 000006) marks the next ready jobs of a queue
 * active and returns what the runner needs. It replaces pg-boss's `fetch()`, whose plan depends on
 * fresh table statistics (see the migration for the measurement); the function's plan does not.
 */
import type { ExecutePrepared } from '@taskfleet/core';

/** A job this replica has claimed: the attempt it runs is (`id`, `retryCount`). */
export interface ClaimedJob {
  id: string;
  priority: number;
  data: unknown;
  /** Claims before this one; the completion fence matches it. */
  retryCount: number;
  retryLimit: number;
  heartbeatSeconds: number | null;
  deadLetter: string | null;
  /** The previous attempts' output (the error history), if any. */
  output: unknown;
  startAfter: Date;
  createdOn: Date;
}

interface ClaimRow {
  id: string;
  priority: number;
  data: unknown;
  retry_count: number;
  retry_limit: number;
  heartbeat_seconds: number | null;
  dead_letter: string | null;
  output: unknown;
  start_after: Date;
  created_on: Date;
}

/**
 * Claim up to `limit` ready jobs of `queue`, highest priority first, then oldest; with
 * `minPriority` only jobs at or above it (the slots reserved for critical work).
 */
export async function claimJobs(executeSql: ExecutePrepared, queue: string, limit: number, minPriority?: number): Promise<ClaimedJob[]> {
  const { rows } = await executeSql({
    name: 'taskfleet_claim_jobs_v1',
    text: 'SELECT * FROM taskfleet.claim_jobs($1, $2, $3)',
    values: [queue, limit, minPriority ?? null],
  });
  return (rows as ClaimRow[]).map((r) => ({
    id: r.id,
    priority: r.priority,
    data: r.data,
    retryCount: r.retry_count,
    retryLimit: r.retry_limit,
    heartbeatSeconds: r.heartbeat_seconds,
    deadLetter: r.dead_letter,
    output: r.output,
    startAfter: r.start_after,
    createdOn: r.created_on,
  }));
}
