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

/**
 * Fail these attempts in one transaction and make the retries ready now. Returns how many this call
 * gave back: another replica rescuing the same jobs at the same moment finds them no longer active,
 * so each attempt is given back exactly once.
 */
export async function rescueAttempts(boss: PgBoss, queue: string, attempts: DeadClaims['attempts'], output: object): Promise<number> {
  const db = boss.getDb();
  if (!db.beginTransaction) throw new Error("pg-boss's database adapter cannot open a transaction");
  const tx = await db.beginTransaction();
  try {
    // pg-boss 12.35 returns { jobs, requested, affected } (its declared type is empty).
    const { affected = 0 } = (await boss.fail(queue, attempts, output, { db: tx.db })) as { affected?: number };
    await tx.db.executeSql(
      `UPDATE ${PGBOSS_SCHEMA}.job SET start_after = ${PGBOSS_SCHEMA}.job_now() WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'retry'`,
      [queue, attempts.map((a) => a.id)],
    );
    await tx.commit();
    return affected;
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
