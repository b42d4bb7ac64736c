/** Task progress (migration 000013's `progress` column): the worker's rate-limited write. */
import type { ExecuteSql } from './executor.ts';
import { PGBOSS_SCHEMA } from './names.ts';

/**
 * Store a running task's progress (JSON text, already checked: tasks/progress.ts). Fenced on the
 * attempt like the completion: nothing is written once the task is no longer active, so a late
 * write cannot land on a finished or retried task. True if written.
 */
export async function writeProgress(
  executeSql: ExecuteSql,
  attempt: { queue: string; id: string; retryCount: number },
  json: string,
): Promise<boolean> {
  const { rows } = await executeSql(
    `UPDATE ${PGBOSS_SCHEMA}.job SET progress = $4::jsonb WHERE name = $1 AND id = $2 AND retry_count = $3 AND state = 'active' RETURNING 1`,
    [attempt.queue, attempt.id, attempt.retryCount, json],
  );
  return rows.length > 0;
}
