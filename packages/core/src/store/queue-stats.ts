/**
 * The queue-depth query: every live job (created, retry, active) grouped by queue and priority, in
 * one statement. Finished jobs are excluded by the WHERE, so retained history does not add to it.
 */
import type { ExecuteSql } from './executor.ts';
import { PGBOSS_SCHEMA } from './names.ts';

export interface QueueStatsRow {
  queue: string;
  priority: number;
  ready: number;
  scheduled: number;
  retrying: number;
  active: number;
  /** Seconds since the oldest ready job of this queue and priority became ready. */
  oldestReadyAgeSeconds: number | null;
}

export async function computeQueueStats(executeSql: ExecuteSql): Promise<QueueStatsRow[]> {
  const { rows } = await executeSql(`
    SELECT name AS queue, priority,
      count(*) FILTER (WHERE state < 'active' AND start_after <= now())::int AS ready,
      count(*) FILTER (WHERE state = 'created' AND start_after > now())::int AS scheduled,
      count(*) FILTER (WHERE state = 'retry' AND start_after > now())::int AS retrying,
      count(*) FILTER (WHERE state = 'active')::int AS active,
      extract(epoch FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after <= now()))::float8
        AS "oldestReadyAgeSeconds"
    FROM ${PGBOSS_SCHEMA}.job
    WHERE state < 'completed'
    GROUP BY name, priority`);
  return rows as QueueStatsRow[];
}

/**
 * The shared snapshot row (`taskfleet.queue_stats`, one row): claim the right to recompute it when
 * it was last claimed more than 90 % of an interval ago — the claim itself is the lock.
 */
export async function claimQueueStatsRefresh(executeSql: ExecuteSql, intervalSeconds: number): Promise<boolean> {
  const { rows } = await executeSql(
    `UPDATE taskfleet.queue_stats SET claimed_at = now()
     WHERE id = 1 AND claimed_at < now() - make_interval(secs => $1::float8 * 0.9) RETURNING id`,
    [intervalSeconds],
  );
  return rows.length > 0;
}

export async function storeQueueStats(executeSql: ExecuteSql, rows: QueueStatsRow[]): Promise<void> {
  await executeSql(`UPDATE taskfleet.queue_stats SET stats = $1::jsonb, computed_at = now() WHERE id = 1`, [JSON.stringify(rows)]);
}

export async function readQueueStats(executeSql: ExecuteSql): Promise<{ rows: QueueStatsRow[]; computedAt: Date | null } | undefined> {
  const { rows } = await executeSql(`SELECT stats, computed_at AS "computedAt" FROM taskfleet.queue_stats WHERE id = 1`);
  const row = rows[0];
  if (!row) return undefined;
  return { rows: row.stats as QueueStatsRow[], computedAt: row.computedAt ? new Date(row.computedAt) : null };
}
