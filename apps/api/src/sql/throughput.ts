/** Tasks created and finished per queue and minute over the last hour (the dashboard's bars). */
import type { ExecuteSql } from '@taskfleet/core';

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
