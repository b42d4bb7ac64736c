/**
 * Long-poll reads: a waiting request marks its task watched (`blocking`, migration 000014) in the
 * statement that reads it, so its end sends NOTIFY on TASK_END_CHANNEL; unwatched tasks cost the
 * workers nothing. The listener's fallback checks many waited-for tasks in one statement.
 */
import type { ExecuteSql } from './executor.ts';
import { PGBOSS_SCHEMA } from './names.ts';
import { getTask, type TaskRow } from './tasks.ts';

const S = PGBOSS_SCHEMA;

/** pg-boss states after which a task does not change by itself (completed, cancelled, failed). */
export function isEndedState(state: string): boolean {
  return state === 'completed' || state === 'cancelled' || state === 'failed';
}

/**
 * Read a task and make sure its end will be announced. Under the row lock, either the task had not
 * ended and is now watched (its end NOTIFYs), or it had ended. The caller registers its waiter
 * before this call and listens before that, so no end is missed between the two.
 */
export async function watchTask(executeSql: ExecuteSql, queue: string, id: string): Promise<TaskRow | undefined> {
  // pg-boss records a failed attempt by deleting the row and inserting it again (the flag copied):
  // an UPDATE that waited for that finds no row, and the new one is read and marked in turn.
  for (let attempt = 0; ; attempt++) {
    const row = await getTask(executeSql, queue, id);
    if (!row || isEndedState(row.state) || row.blocking || attempt === 5) return row;
    const { rows } = await executeSql(
      `UPDATE ${S}.job SET blocking = true WHERE name = $1 AND id = $2 AND state <= 'active' RETURNING id`,
      [queue, id],
    );
    if (rows.length > 0) return row;
  }
}

/** Of these task ids, the ones that have ended (the listener's fallback while LISTEN is down). */
export async function endedTaskIds(executeSql: ExecuteSql, ids: string[]): Promise<string[]> {
  const { rows } = await executeSql(`SELECT id FROM ${S}.job WHERE id = ANY ($1::uuid[]) AND state > 'active'`, [ids]);
  return (rows as { id: string }[]).map((r) => r.id);
}
