/**
 * Giving back the running jobs of a dead worker replica (migration 000010): find them by their
 * claim's incarnation (no live presence row), and fail each attempt the way pg-boss does — fenced on
 * (id, retry_count, state 'active'), the attempt counted, retried or dead-lettered by the queue's
 * policy — but retried at once instead of after the retry delay: the worker died, not the task.
 */
import type { PgBoss } from 'pg-boss';
import type { ExecuteSql } from './executor.ts';
import { PGBOSS_SCHEMA } from './names.ts';

export interface DeadClaims {
  queue: string;
  /** The incarnation that claimed them. */
  owner: string;
  attempts: { id: string; retryCount: number }[];
}

/** Running jobs whose worker process has not beaten for `deadAfterSeconds` (or whose row is gone); never `self`'s. */
export async function findDeadClaims(executeSql: ExecuteSql, self: string, deadAfterSeconds: number): Promise<DeadClaims[]> {
  const { rows } = await executeSql('SELECT queue, owner, ids, retry_counts FROM taskfleet.dead_claims($1, $2)', [self, deadAfterSeconds]);
  return (rows as { queue: string; owner: string; ids: string[]; retry_counts: number[] }[]).map((r) => ({
    queue: r.queue,
    owner: r.owner,
    attempts: r.ids.map((id, i) => ({ id, retryCount: r.retry_counts[i] as number })),
  }));
}

/** What a rescued attempt records: its error, appended to the task's attempt history (at most `HISTORY_LIMIT`). */
export interface LostAttempt {
  name: string;
  message: string;
}

const HISTORY_LIMIT = 10;

function outputWith(previous: unknown, record: Record<string, unknown>): object {
  const history = (previous as { history?: unknown } | null)?.history;
  return { error: record, history: [...(Array.isArray(history) ? history : []), record].slice(-HISTORY_LIMIT) };
}

/**
 * Fail these attempts in one transaction and make the retries ready now; each task's output keeps
 * its attempt history with this attempt's error appended, as a failure in the worker would. Returns
 * how many this call gave back: the rows are locked first, so another replica rescuing the same jobs
 * at the same moment finds them no longer active, and each attempt is given back exactly once.
 */
export async function rescueAttempts(boss: PgBoss, queue: string, attempts: DeadClaims['attempts'], lost: LostAttempt): Promise<number> {
  const db = boss.getDb();
  if (!db.beginTransaction) throw new Error("pg-boss's database adapter cannot open a transaction");
  const tx = await db.beginTransaction();
  try {
    const { rows } = await tx.db.executeSql(
      `SELECT j.id, j.retry_count, j.output FROM ${PGBOSS_SCHEMA}.job j
       JOIN unnest($2::uuid[], $3::int[]) AS a(id, retry_count) ON a.id = j.id AND a.retry_count = j.retry_count
       WHERE j.name = $1 AND j.state = 'active' FOR UPDATE OF j`,
      [queue, attempts.map((a) => a.id), attempts.map((a) => a.retryCount)],
    );
    const held = rows as { id: string; retry_count: number; output: unknown }[];
    if (held.length === 0) {
      await tx.commit();
      return 0;
    }
    // One fail() per attempt: each carries its own output, which pg-boss also copies into the
    // dead-letter row of a last attempt (a shared output would give every copy the first task's).
    const at = new Date().toISOString();
    for (const r of held) {
      const output = outputWith(r.output, { attempt: r.retry_count + 1, at, ...lost });
      await boss.fail(queue, { id: r.id, retryCount: r.retry_count }, output, { db: tx.db });
    }
    await tx.db.executeSql(
      `UPDATE ${PGBOSS_SCHEMA}.job SET start_after = ${PGBOSS_SCHEMA}.job_now() WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'retry'`,
      [queue, held.map((r) => r.id)],
    );
    await tx.commit();
    return held.length;
  } catch (err) {
    await tx.rollback().catch(() => undefined);
    throw err;
  }
}

/** Of these running attempts of `owner`, the ids no longer its own (given back while it was unreachable). */
export async function takenOver(executeSql: ExecuteSql, owner: string, attempts: { id: string; retryCount: number }[]): Promise<string[]> {
  if (attempts.length === 0) return [];
  const { rows } = await executeSql(
    `SELECT a.id FROM unnest($2::uuid[], $3::int[]) AS a(id, retry_count)
     WHERE NOT EXISTS (
       SELECT 1 FROM ${PGBOSS_SCHEMA}.job j
       WHERE j.id = a.id AND j.state = 'active' AND j.retry_count = a.retry_count AND j.claimed_by = $1)`,
    [owner, attempts.map((a) => a.id), attempts.map((a) => a.retryCount)],
  );
  return (rows as { id: string }[]).map((r) => r.id);
}
