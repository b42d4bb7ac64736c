/**
 * The worker's claim and completion: `taskfleet.complete_and_claim` (migrations 000006, 000007) completes a
 * batch of attempts and claims the next ready jobs of the queue in one statement. It replaces
 * pg-boss's `fetch()`, whose plan depends on fresh table statistics (see the migration for the
 * measurement); the function's plan does not.
 */
import type { ExecutePrepared } from './executor.ts';

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

/** A finished attempt to record as completed, with the handler's output. */
export interface Completion {
  id: string;
  retryCount: number;
  output: unknown;
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

/** One prepared statement for both uses: claiming alone passes no completions. */
const COMPLETE_AND_CLAIM = {
  name: 'taskfleet_complete_and_claim_v2',
  text: 'SELECT * FROM taskfleet.complete_and_claim($1, $2, $3, $4, $5, $6, $7)',
};

/**
 * A claim the queue's fleet-wide settings held back (paused, at its concurrency, or at its rate):
 * `retryAfterMs` is when the rate limit lets the next start through; null — wait for a wake-up.
 */
export interface Throttle {
  retryAfterMs: number | null;
}

export interface ClaimResult {
  /** Attempts this statement completed. */
  settled: string[];
  /** Jobs it claimed (marked active). */
  claimed: ClaimedJob[];
  /** Set when the queue's settings let fewer jobs through than asked for. */
  throttle?: Throttle;
}

/**
 * Claim up to `limit` ready jobs of `queue`, highest priority first, then oldest; with
 * `minPriority` only jobs at or above it (the slots reserved for critical work).
 */
export async function claimJobs(
  executeSql: ExecutePrepared,
  queue: string,
  limit: number,
  minPriority?: number,
  owner?: string,
): Promise<ClaimResult> {
  return completeAndClaim(executeSql, queue, [], limit, minPriority, owner);
}

function claimedJob(r: ClaimRow): ClaimedJob {
  return {
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
  };
}

/**
 * Complete many active attempts of one queue, each with its own output, and claim up to `claim`
 * ready jobs, in one statement and one transaction. Fenced on (id, retry_count) and state
 * 'active': an attempt that timed out or was taken over is left alone and not in `settled`.
 */
export async function completeAndClaim(
  executeSql: ExecutePrepared,
  queue: string,
  items: Completion[],
  claim: number,
  minPriority?: number,
  /** The claiming worker process's incarnation, stamped on the jobs it takes (rescue finds them by it). */
  owner?: string,
): Promise<ClaimResult> {
  const { rows } = await executeSql({
    ...COMPLETE_AND_CLAIM,
    values: [
      queue,
      items.map((i) => i.id),
      items.map((i) => i.retryCount),
      items.map((i) => (i.output === undefined ? null : JSON.stringify(i.output))),
      claim,
      minPriority ?? null,
      owner ?? null,
    ],
  });
  const result: ClaimResult = { settled: [], claimed: [] };
  for (const row of rows as (ClaimRow & { settled: string | null })[]) {
    if (row.settled) result.settled.push(row.settled);
    else if (row.id) result.claimed.push(claimedJob(row));
    else result.throttle = { retryAfterMs: row.start_after ? Math.max(0, row.start_after.getTime() - row.created_on.getTime()) : null };
  }
  return result;
}

const HAS_READY = {
  name: 'taskfleet_has_ready_v1',
  text: `SELECT EXISTS (
           SELECT 1 FROM pgboss.job j WHERE j.name = $1 AND j.state < 'active' AND NOT j.blocked AND j.start_after <= now()
         ) AND NOT EXISTS (SELECT 1 FROM taskfleet.queue_settings s WHERE s.queue = $1 AND s.paused) AS ready`,
};

/**
 * Whether `queue` has a job ready to claim now (and is not paused): a look that claims nothing, for
 * a worker's loop that has no free slot to claim with — a replica draining several shards asks so
 * to learn whether the shard needs its fair share of the slots (apps/worker fair-share.ts).
 */
export async function hasReadyJobs(executeSql: ExecutePrepared, queue: string): Promise<boolean> {
  const { rows } = await executeSql({ ...HAS_READY, values: [queue] });
  return (rows[0] as { ready: boolean } | undefined)?.ready === true;
}
