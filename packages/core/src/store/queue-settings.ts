/**
 * Fleet-wide flow control per queue (`taskfleet.queue_settings`, migrations 000007, 000008):
 * paused, a concurrency limit, a start-rate limit and a per-group concurrency limit across every replica, enforced by the claim
 * (`complete_and_claim`). A change wakes every replica's loop for the queue (NOTIFY), so a resume or
 * a raised limit takes effect at once; a tightened one applies to the next claim.
 */
import type { ExecuteSql } from './executor.ts';
import { CANCEL_CHANNEL, NOTIFY_CHANNEL } from './names.ts';

export interface RateLimit {
  limit: number;
  periodSeconds: number;
}

export interface QueueSettings {
  paused: boolean;
  /** Tasks of the queue running at once across the fleet; null: only the replicas' slots bound it. */
  concurrency: number | null;
  /** Task starts per period across the fleet; null: unlimited. */
  rate: RateLimit | null;
  /** Tasks of one group (tenant) running at once across the fleet, groups served in turn; null: no per-group limit. */
  groupConcurrency: number | null;
  updatedAt: Date | null;
}

/** A change: an absent field stays as it is; null clears a limit. */
export interface QueueSettingsPatch {
  paused?: boolean;
  concurrency?: number | null;
  rate?: RateLimit | null;
  groupConcurrency?: number | null;
}

/** The largest values a setting takes (the API's validation, task types' flowControl; the table's CHECKs agree). */
export const QUEUE_SETTINGS_MAX = { concurrency: 1_000_000, rateLimit: 10_000, ratePeriodSeconds: 86_400 } as const;

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  paused: false,
  concurrency: null,
  rate: null,
  groupConcurrency: null,
  updatedAt: null,
};

const COLUMNS = `queue, paused, concurrency, rate_limit, rate_period_seconds, group_concurrency, updated_at`;

interface Row {
  queue: string;
  paused: boolean;
  concurrency: number | null;
  rate_limit: number | null;
  rate_period_seconds: number | null;
  group_concurrency: number | null;
  updated_at: Date;
}

const settingsOf = (r: Row): QueueSettings => ({
  paused: r.paused,
  concurrency: r.concurrency,
  rate: r.rate_limit === null || r.rate_period_seconds === null ? null : { limit: r.rate_limit, periodSeconds: r.rate_period_seconds },
  groupConcurrency: r.group_concurrency,
  updatedAt: r.updated_at,
});

export async function getQueueSettings(executeSql: ExecuteSql, queue: string): Promise<QueueSettings> {
  const { rows } = await executeSql(`SELECT ${COLUMNS} FROM taskfleet.queue_settings WHERE queue = $1`, [queue]);
  return rows[0] ? settingsOf(rows[0] as Row) : DEFAULT_QUEUE_SETTINGS;
}

/** Every queue's settings that differ from the defaults, by queue. */
export async function listQueueSettings(executeSql: ExecuteSql): Promise<Map<string, QueueSettings>> {
  const { rows } = await executeSql(`SELECT ${COLUMNS} FROM taskfleet.queue_settings`);
  return new Map((rows as Row[]).map((r) => [r.queue, settingsOf(r)]));
}

/**
 * Every queue's settings, as `listQueueSettings`, and the queues whose rate window is full right now
 * (no start until the oldest start leaves it), in one statement: the queue gauges read both.
 */
export async function listQueueSettingsAndFullRates(
  executeSql: ExecuteSql,
): Promise<{ settings: Map<string, QueueSettings>; rateFull: Set<string> }> {
  const { rows } = await executeSql(
    `SELECT ${COLUMNS}, rate_limit IS NOT NULL
       AND (SELECT count(*) FROM unnest(recent_starts) t WHERE t > now() - rate_period_seconds * interval '1 second') >= rate_limit AS rate_full
     FROM taskfleet.queue_settings`,
  );
  const all = rows as (Row & { rate_full: boolean })[];
  return {
    settings: new Map(all.map((r) => [r.queue, settingsOf(r)])),
    rateFull: new Set(all.filter((r) => r.rate_full).map((r) => r.queue)),
  };
}

/** Apply a change in one statement and wake the queue's loops on every replica. */
export async function updateQueueSettings(executeSql: ExecuteSql, queue: string, patch: QueueSettingsPatch): Promise<QueueSettings> {
  const { rows } = await executeSql(
    `WITH up AS (
       INSERT INTO taskfleet.queue_settings AS s (queue, paused, concurrency, rate_limit, rate_period_seconds, group_concurrency)
       VALUES ($1, coalesce($2, false), CASE WHEN $3 THEN $4::int END, CASE WHEN $5 THEN $6::int END, CASE WHEN $5 THEN $7::int END,
         CASE WHEN $8 THEN $9::int END)
       ON CONFLICT (queue) DO UPDATE SET
         paused = coalesce($2, s.paused),
         concurrency = CASE WHEN $3 THEN $4::int ELSE s.concurrency END,
         rate_limit = CASE WHEN $5 THEN $6::int ELSE s.rate_limit END,
         rate_period_seconds = CASE WHEN $5 THEN $7::int ELSE s.rate_period_seconds END,
         group_concurrency = CASE WHEN $8 THEN $9::int ELSE s.group_concurrency END,
         updated_at = now()
       RETURNING s.queue, s.paused, s.concurrency, s.rate_limit, s.rate_period_seconds, s.group_concurrency, s.updated_at
     ), wake AS (SELECT pg_notify('${NOTIFY_CHANNEL}', $1))
     SELECT * FROM up WHERE (SELECT count(*) FROM wake) >= 0`,
    [
      queue,
      patch.paused ?? null,
      patch.concurrency !== undefined,
      patch.concurrency ?? null,
      patch.rate !== undefined,
      patch.rate?.limit ?? null,
      patch.rate?.periodSeconds ?? null,
      patch.groupConcurrency !== undefined,
      patch.groupConcurrency ?? null,
    ],
  );
  return settingsOf(rows[0] as Row);
}

/**
 * A task type's initial settings (its definition's `flowControl`): written only when the queue has
 * no settings row yet, so an operator's later change is never overwritten. True when written.
 */
export async function seedQueueSettings(executeSql: ExecuteSql, queue: string, patch: QueueSettingsPatch): Promise<boolean> {
  const { rows } = await executeSql(
    `INSERT INTO taskfleet.queue_settings (queue, paused, concurrency, rate_limit, rate_period_seconds, group_concurrency)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (queue) DO NOTHING RETURNING queue`,
    [
      queue,
      patch.paused ?? false,
      patch.concurrency ?? null,
      patch.rate?.limit ?? null,
      patch.rate?.periodSeconds ?? null,
      patch.groupConcurrency ?? null,
    ],
  );
  return rows.length > 0;
}

/** Tell every replica that a task was cancelled: the one running it aborts its handler. */
export async function notifyCancelled(executeSql: ExecuteSql, queue: string, id: string): Promise<void> {
  await executeSql(`SELECT pg_notify('${CANCEL_CHANNEL}', $1)`, [JSON.stringify({ queue, id })]);
}
