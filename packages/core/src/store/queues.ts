/**
 * Per-queue reads for the API: depth by state, deferred and oldest-ready age, for every queue in one scan.
 * Tasks waiting for their dependencies (`blocked`, migration 000014) are neither ready nor scheduled. Callers cache
 * it (queueDepthCache) so a burst of status requests cannot turn into a burst of table scans.
 */
import type { ExecuteSql } from './executor.ts';

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
      count(j.*) FILTER (WHERE j.state = 'created' AND NOT j.blocked AND j.start_after <= now())::int AS ready,
      count(j.*) FILTER (WHERE j.state = 'created' AND NOT j.blocked AND j.start_after > now())::int AS scheduled,
      count(j.*) FILTER (WHERE j.state = 'retry')::int AS retrying,
      count(j.*) FILTER (WHERE j.state = 'active')::int AS running,
      count(j.*) FILTER (WHERE j.state = 'completed')::int AS completed,
      count(j.*) FILTER (WHERE j.state = 'failed')::int AS failed,
      count(j.*) FILTER (WHERE j.state = 'cancelled')::int AS cancelled,
      extract(epoch FROM now() - min(j.start_after) FILTER (WHERE j.state IN ('created', 'retry') AND NOT j.blocked AND j.start_after <= now()))::float8
        AS "oldestReadyAgeSeconds"
    FROM pgboss.queue q LEFT JOIN pgboss.job j ON j.name = q.name
    GROUP BY q.name ORDER BY q.name`);
  return rows as QueueDepthRow[];
}

/** Ready tasks in one queue, counted only up to `cap` (cost bounded by the cap, not the backlog). */
export async function readyDepthUpTo(executeSql: ExecuteSql, queue: string, cap: number): Promise<number> {
  const { rows } = await executeSql(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM pgboss.job WHERE name = $1 AND state < 'active' AND NOT blocked AND start_after <= now() LIMIT $2) t`,
    [queue, cap],
  );
  return rows[0]?.n ?? 0;
}

/** Tasks created and finished per queue and minute over the last hour (the dashboard's bars). */

export interface ThroughputRow {
  minute: string;
  queue: string;
  created: number;
  completed: number;
  failed: number;
}

/** One scan of the job table (no index on created_on/completed_on): callers cache it. */
export async function throughputPerMinute(executeSql: ExecuteSql): Promise<ThroughputRow[]> {
  const { rows } = await executeSql(
    `WITH recent AS (
         SELECT name, created_on, completed_on, state FROM pgboss.job
          WHERE created_on > now() - interval '1 hour' OR completed_on > now() - interval '1 hour')
       SELECT to_char(m, 'YYYY-MM-DD"T"HH24:MI:00"Z"') AS minute, name AS queue,
              sum(created)::int AS created, sum(completed)::int AS completed, sum(failed)::int AS failed
         FROM (
           SELECT date_trunc('minute', created_on AT TIME ZONE 'UTC') AS m, name, 1 AS created, 0 AS completed, 0 AS failed
             FROM recent WHERE created_on > now() - interval '1 hour'
           UNION ALL
           SELECT date_trunc('minute', completed_on AT TIME ZONE 'UTC'), name, 0,
                  (state = 'completed')::int, (state = 'failed')::int
             FROM recent WHERE completed_on > now() - interval '1 hour' AND state IN ('completed', 'failed')
         ) x
        GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return rows as ThroughputRow[];
}

/**
 * Give a partitioned queue's own table what migrations 000003–000008 gave `pgboss.job_common`
 * (taskfleet's indexes and autovacuum settings; migration 000015). Idempotent, and nothing for a queue
 * in the shared table. Returns the queue's own table, or null when it has none.
 */
export async function prepareQueueTable(executeSql: ExecuteSql, queue: string): Promise<string | null> {
  const { rows } = await executeSql('SELECT taskfleet.prepare_queue_table($1) AS "table"', [queue]);
  return (rows[0]?.table as string | null | undefined) ?? null;
}
