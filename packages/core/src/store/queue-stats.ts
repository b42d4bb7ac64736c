/**
 * The fleet's shared queue snapshot: computing it (below) and the one row that holds it.
 */
import type { ExecuteSql } from './executor.ts';

/**
 * The queue snapshot (`taskfleet.queue_snapshot`, migration 000011): live jobs by queue and priority,
 * exact up to `cap` waiting jobs per queue and estimated from a block sample above it (those rows say
 * `estimated`), so its cost stays flat however deep a queue gets.
 */
export const QUEUE_STATS_EXACT_CAP = 10_000;

export interface QueueStatsRow {
  queue: string;
  priority: number;
  ready: number;
  scheduled: number;
  retrying: number;
  active: number;
  /** Seconds since the oldest ready job of this queue and priority became ready. */
  oldestReadyAgeSeconds: number | null;
  /** Waiting counts estimated from a sample (the queue has more than the cap waiting). */
  estimated?: boolean;
}

/** A row of taskfleet.queue_snapshot (snake-case age, the flag always present). */
type SnapshotRow = Omit<QueueStatsRow, 'oldestReadyAgeSeconds' | 'estimated'> & {
  oldest_ready_age_seconds: number | null;
  estimated: boolean;
};

export async function computeQueueStats(executeSql: ExecuteSql, cap = QUEUE_STATS_EXACT_CAP): Promise<QueueStatsRow[]> {
  const { rows } = await executeSql('SELECT * FROM taskfleet.queue_snapshot($1)', [cap]);
  // A queue and priority may come twice (its waiting and its active jobs): add them up.
  const merged = new Map<string, QueueStatsRow>();
  for (const r of rows as SnapshotRow[]) {
    const key = `${r.queue}\n${r.priority}`;
    const m = merged.get(key);
    if (!m) {
      merged.set(key, {
        queue: r.queue,
        priority: r.priority,
        ready: r.ready,
        scheduled: r.scheduled,
        retrying: r.retrying,
        active: r.active,
        oldestReadyAgeSeconds: r.oldest_ready_age_seconds,
        ...(r.estimated ? { estimated: true } : {}),
      });
      continue;
    }
    m.ready += r.ready;
    m.scheduled += r.scheduled;
    m.retrying += r.retrying;
    m.active += r.active;
    m.oldestReadyAgeSeconds ??= r.oldest_ready_age_seconds;
    if (r.estimated) m.estimated = true;
  }
  return [...merged.values()];
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
