/**
 * Queue depth by state, deferred and oldest-ready age, for every queue in one scan. Callers cache
 * it (queueDepthCache) so a burst of status requests cannot turn into a burst of table scans.
 */
import type { ExecuteSql } from '@taskfleet/core';

export interface QueueDepthRow {
  name: string;
  ready: number;
  scheduled: number;
  retrying: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
  oldestReadyAgeSeconds: number | null;
}

export async function queueDepths(executeSql: ExecuteSql): Promise<QueueDepthRow[]> {
  const { rows } = await executeSql(`
    SELECT q.name,
      count(j.*) FILTER (WHERE j.state = 'created' AND j.start_after <= now())::int AS ready,
      count(j.*) FILTER (WHERE j.state = 'created' AND j.start_after > now())::int AS scheduled,
      count(j.*) FILTER (WHERE j.state = 'retry')::int AS retrying,
      count(j.*) FILTER (WHERE j.state = 'active')::int AS running,
      count(j.*) FILTER (WHERE j.state = 'completed')::int AS completed,
      count(j.*) FILTER (WHERE j.state = 'failed')::int AS failed,
      count(j.*) FILTER (WHERE j.state = 'cancelled')::int AS cancelled,
      extract(epoch FROM now() - min(j.start_after) FILTER (WHERE j.state IN ('created', 'retry') AND j.start_after <= now()))::float8
        AS "oldestReadyAgeSeconds"
    FROM pgboss.queue q LEFT JOIN pgboss.job j ON j.name = q.name
    GROUP BY q.name ORDER BY q.name`);
  return rows as QueueDepthRow[];
}

/** Ready tasks in one queue, counted only up to `cap` (cost bounded by the cap, not the backlog). */
export async function readyDepthUpTo(executeSql: ExecuteSql, queue: string, cap: number): Promise<number> {
  const { rows } = await executeSql(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM pgboss.job WHERE name = $1 AND state < 'active' AND start_after <= now() LIMIT $2) t`,
    [queue, cap],
  );
  return rows[0]?.n ?? 0;
}
