/**
 * The ingest insert: many tasks for one queue in one statement, equivalent to pg-boss's own
 * `insert()` for the options taskfleet uses (a test compares the rows both produce), but as a
 * named prepared statement: PostgreSQL plans it once per connection instead of once per group
 * commit, which is most of a small statement's cost. The rows travel as one JSON document
 * (`json_to_recordset`, as pg-boss does): one JSON.stringify, where typed array parameters cost pg
 * two regex replaces per value to escape (~6 % of an enqueue's garbage, ingest profile). Like
 * pg-boss, it skips ids that exist and wakes the queue's listeners when it has `notify` on and a row
 * is runnable now — but with a NOTIFY after the insert has committed, not inside it (wake.ts says why).
 */
import type { JobInsert } from 'pg-boss';
import type { ExecutePrepared } from './executor.ts';
import { PGBOSS_SCHEMA } from './names.ts';
import { notifyQueue, type Wake } from './wake.ts';

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
  FROM json_to_recordset($2::json)
    AS u(id uuid, data jsonb, priority int, run_at timestamptz, delay_seconds int, expire_seconds int, retry_limit int, group_id text)
  JOIN ${S}.queue q ON q.name = $1
  CROSS JOIN LATERAL (SELECT COALESCE(u.run_at, ${S}.job_now() + COALESCE(u.delay_seconds, 0) * interval '1s') AS start_after) s
  ON CONFLICT DO NOTHING
  RETURNING id, start_after
)
SELECT id, start_after <= ${S}.job_now() AND (SELECT notify FROM ${S}.queue WHERE name = $1) AS wake FROM ins`;

/** One row of the insert's JSON document (undefined fields are left out: NULL). */
interface InsertRecord {
  id: string;
  data: unknown;
  priority: number;
  run_at: string | undefined;
  delay_seconds: number | undefined;
  expire_seconds: number | undefined;
  retry_limit: number | undefined;
  group_id: string | undefined;
}

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
  const records = new Array<InsertRecord>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as JobInsert & { id: string };
    const startAfter = r.startAfter;
    records[i] = {
      id: r.id,
      data: r.data ?? null,
      priority: r.priority ?? 0,
      run_at: typeof startAfter === 'string' ? startAfter : startAfter instanceof Date ? startAfter.toISOString() : undefined,
      delay_seconds: typeof startAfter === 'number' ? startAfter : undefined,
      expire_seconds: r.expireInSeconds,
      retry_limit: r.retryLimit,
      group_id: r.group?.id,
    };
  }
  const { rows: inserted } = await executeSql({
    name: 'taskfleet_insert_tasks_v5',
    text: TEXT,
    values: [queue, JSON.stringify(records)],
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
    else await notifyQueue(executeSql, queue);
  }
  return out;
}
