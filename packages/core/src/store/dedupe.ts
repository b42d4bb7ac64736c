/** The statement behind debounce windows: the waiting task of a window takes a later request's content. */
import type { ExecuteSql } from './executor.ts';
import { PGBOSS_SCHEMA } from './names.ts';

export interface DebouncedContent {
  data: unknown;
  priority: number;
  /** Kept as stored when undefined. */
  retryLimit: number | undefined;
  expireSeconds: number | undefined;
  groupId: string | null;
}

/**
 * Replace the content of a task that has not started yet (`created`); false when it has started,
 * ended or is gone — the row lock orders this against a worker's claim, so a replacement either
 * lands before the claim or is refused.
 */
export async function replaceWaitingTask(executeSql: ExecuteSql, queue: string, id: string, c: DebouncedContent): Promise<boolean> {
  const { rows } = await executeSql(
    `UPDATE ${PGBOSS_SCHEMA}.job SET data = $3::jsonb, priority = $4,
       retry_limit = COALESCE($5::int, retry_limit), expire_seconds = COALESCE($6::int, expire_seconds), group_id = $7
     WHERE name = $1 AND id = $2 AND state = 'created' RETURNING id`,
    [queue, id, JSON.stringify(c.data), c.priority, c.retryLimit ?? null, c.expireSeconds ?? null, c.groupId],
  );
  return rows.length > 0;
}
