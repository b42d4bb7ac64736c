/** Task reads, listing and the statements of task operations on pg-boss's job table. */
import type { TaskEnvelope } from '../tasks/envelope.ts';
import type { ExecutePrepared, ExecuteSql } from './executor.ts';

export interface TaskRow {
  id: string;
  name: string;
  state: 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';
  priority: number;
  data: TaskEnvelope | null;
  retryCount: number;
  retryLimit: number;
  startAfter: Date;
  createdOn: Date;
  startedOn: Date | null;
  completedOn: Date | null;
  output: unknown;
  deadLetter: string | null;
  sourceName: string | null;
  sourceId: string | null;
  groupId: string | null;
  /** What the handler last reported with ctx.progress() (migration 000013's column). */
  progress?: unknown;
  /** pg-boss's flow flags (migration 000014): waiting for dependencies; someone waits for its end. */
  blocked?: boolean;
  blocking?: boolean;
  /** The tasks it depends on (pg-boss's job_dependency edges). */
  dependsOn?: { queue: string; id: string }[] | null;
  /** Only from listTasks: created_on with full precision, for the keyset cursor. */
  createdOnExact?: string;
}

const COLUMNS = `id, name, state, priority, data, retry_count AS "retryCount", retry_limit AS "retryLimit",
  start_after AS "startAfter", created_on AS "createdOn", started_on AS "startedOn", completed_on AS "completedOn",
  output, dead_letter AS "deadLetter", source_name AS "sourceName", source_id AS "sourceId", group_id AS "groupId", progress,
  blocked, blocking, (SELECT json_agg(json_build_object('queue', d.parent_name, 'id', d.parent_id) ORDER BY d.parent_id)
    FROM pgboss.job_dependency d WHERE d.child_name = job.name AND d.child_id = job.id) AS "dependsOn"`;

// Status reads are the hottest read: named prepared statements, parsed once per connection (on the
// partitioned pgboss.job an unprepared read re-plans its partition pruning every time).
const GET_TASK = `SELECT ${COLUMNS} FROM pgboss.job WHERE name = $1 AND id = $2`;
const FIND_TASK = `SELECT ${COLUMNS} FROM pgboss.job WHERE name = ANY($1::text[]) AND id = $2 LIMIT 1`;

export async function getTask(executeSql: ExecuteSql, queue: string, id: string): Promise<TaskRow | undefined> {
  const { rows } = await executeSql(GET_TASK, [queue, id]);
  return rows[0] as TaskRow | undefined;
}

/**
 * The status read of the API's task routes: by queue, or by id alone among a list of queues (the
 * primary key is (name, id): one index probe per queue). Prepared.
 */
export async function readTaskStatus(
  executeSql: ExecutePrepared,
  queue: string | readonly string[],
  id: string,
): Promise<TaskRow | undefined> {
  const query =
    typeof queue === 'string'
      ? { name: 'tf_get_task', text: GET_TASK, values: [queue, id] }
      : { name: 'tf_find_task', text: FIND_TASK, values: [queue, id] };
  const { rows } = await executeSql(query);
  return rows[0] as TaskRow | undefined;
}

export async function getTasks(executeSql: ExecuteSql, queue: string, ids: string[]): Promise<Map<string, TaskRow>> {
  const { rows } = await executeSql(`SELECT ${COLUMNS} FROM pgboss.job WHERE name = $1 AND id = ANY($2::uuid[])`, [queue, ids]);
  return new Map((rows as TaskRow[]).map((r) => [r.id, r]));
}

export interface ListFilter {
  queue: string;
  /** pg-boss states to include. */
  states: readonly string[];
  /** Only tasks submitted by this key (null = tasks with no submitter). `undefined` = everyone's. */
  submitter?: string | null;
  /** Only ready (true) or only scheduled (false) tasks among `created`. */
  ready?: boolean;
  /** Keyset cursor: rows strictly older than this (created_on, id). */
  before?: { createdOn: string; id: string };
  limit: number;
}

/** Newest first, keyset-paginated on (created_on, id). */
export async function listTasks(executeSql: ExecuteSql, f: ListFilter): Promise<TaskRow[]> {
  const where = ['name = $1', 'state::text = ANY($2::text[])'];
  const values: unknown[] = [f.queue, f.states];
  if (f.submitter !== undefined) {
    values.push(f.submitter);
    where.push(f.submitter === null ? `data->'meta'->>'submitter' IS NULL` : `data->'meta'->>'submitter' = $${values.length}`);
    if (f.submitter === null) values.pop();
  }
  if (f.ready === true) where.push('start_after <= now()');
  if (f.ready === false) where.push('start_after > now()');
  if (f.before) {
    values.push(f.before.createdOn, f.before.id);
    where.push(`(created_on, id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
  }
  values.push(f.limit);
  const { rows } = await executeSql(
    // created_on as text for the cursor: microsecond precision (a JavaScript Date keeps only ms, and
    // a truncated cursor would skip rows created in the same millisecond).
    `SELECT ${COLUMNS}, to_char(created_on AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdOnExact" FROM pgboss.job WHERE ${where.join(' AND ')} ORDER BY created_on DESC, id DESC LIMIT $${values.length}`,
    values,
  );
  return rows as TaskRow[];
}

/** Delete the dead-letter copy of a task that is being retried from its own queue (not yet taken). */
export async function deleteDeadLetterCopy(executeSql: ExecuteSql, deadLetterQueue: string, sourceId: string): Promise<void> {
  await executeSql(`DELETE FROM pgboss.job WHERE name = $1 AND source_id = $2 AND state = 'created'`, [deadLetterQueue, sourceId]);
}
