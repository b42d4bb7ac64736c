/**
 * The ingest insert: many tasks for one queue in one statement, equivalent to pg-boss's own
 * `insert()` for the options taskfleet uses (a test compares the rows both produce), but as a
 * named prepared statement over typed arrays (`unnest`) instead of an unnamed statement over a
 * JSON recordset. PostgreSQL then plans it once per connection instead of once per group commit,
 * which is most of a small statement's cost. Like pg-boss, it skips ids that exist and wakes the
 * queue's listeners when it has `notify` on and a row is runnable now — but with a NOTIFY after the
 * insert has committed, not inside it (wake.ts says why).
 */
import type { JobInsert } from 'pg-boss';
import type { ExecutePrepared } from './executor.ts';
import { NOTIFY_CHANNEL, PGBOSS_SCHEMA } from './names.ts';
import type { Wake } from './wake.ts';

const S = PGBOSS_SCHEMA;
const TEXT = `
WITH ins AS (
  INSERT INTO ${S}.job (id, name, data, priority, start_after, expire_seconds, deletion_seconds, keep_until,
    retry_limit, retry_delay, retry_backoff, retry_delay_max, policy, dead_letter, heartbeat_seconds, group_id)
  SELECT u.id, q.name, u.data, u.priority, s.start_after,
    COALESCE(u.expire_seconds, q.expire_seconds), q.deletion_seconds,
    s.start_after + q.retention_seconds * interval '1s',
    COALESCE(u.retry_limit, q.retry_limit), q.retry_delay, COALESCE(q.retry_backoff, false), q.retry_delay_max,
    q.policy, q.dead_letter, q.heartbeat_seconds, u.group_id
  FROM unnest($2::uuid[], $3::jsonb[], $4::int[], $5::timestamptz[], $6::int[], $7::int[], $8::int[], $9::text[])
    AS u(id, data, priority, run_at, delay_seconds, expire_seconds, retry_limit, group_id)
  JOIN ${S}.queue q ON q.name = $1
  CROSS JOIN LATERAL (SELECT COALESCE(u.run_at, ${S}.job_now() + COALESCE(u.delay_seconds, 0) * interval '1s') AS start_after) s
  ON CONFLICT DO NOTHING
  RETURNING id, start_after
)
SELECT id, start_after <= ${S}.job_now() AND (SELECT notify FROM ${S}.queue WHERE name = $1) AS wake FROM ins`;

/**
 * Insert rows into `queue`; returns the ids that were inserted (existing ids are skipped). When one
 * of them can run now, `wake(queue)` is called once the insert has committed; without a `wake`, a
 * NOTIFY is sent (and awaited) here.
 */
export async function insertTasks(
  executeSql: ExecutePrepared,
  queue: string,
  rows: (JobInsert & { id: string })[],
  wake?: Wake,
): Promise<string[]> {
  const n = rows.length;
  const ids = new Array<string>(n);
  const data = new Array<string>(n);
  const priority = new Array<number | null>(n);
  const runAt = new Array<string | null>(n);
  const delay = new Array<number | null>(n);
  const expire = new Array<number | null>(n);
  const retryLimit = new Array<number | null>(n);
  const group = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i] as JobInsert & { id: string };
    ids[i] = r.id;
    data[i] = JSON.stringify(r.data ?? null);
    priority[i] = r.priority ?? 0;
    runAt[i] = typeof r.startAfter === 'string' ? r.startAfter : r.startAfter instanceof Date ? r.startAfter.toISOString() : null;
    delay[i] = typeof r.startAfter === 'number' ? r.startAfter : null;
    expire[i] = r.expireInSeconds ?? null;
    retryLimit[i] = r.retryLimit ?? null;
    group[i] = r.group?.id ?? null;
  }
  const { rows: inserted } = await executeSql({
    name: 'taskfleet_insert_tasks_v4',
    text: TEXT,
    values: [queue, ids, data, priority, runAt, delay, expire, retryLimit, group],
  });
  const out = new Array<string>(inserted.length);
  let runnable = false;
  for (let i = 0; i < inserted.length; i++) {
    const r = inserted[i] as { id: string; wake: boolean };
    out[i] = r.id;
    if (r.wake) runnable = true;
  }
  if (runnable) {
    if (wake) wake(queue);
    else await executeSql('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, queue]);
  }
  return out;
}
