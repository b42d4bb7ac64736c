/**
 * The queue-depth query: every live job (created, retry, active) grouped by queue and priority, in
 * one statement. Finished jobs are excluded by the WHERE, so retained history does not add to it.
 */
import type { ExecuteSql } from '../db.ts';
import { PGBOSS_SCHEMA } from '../db.ts';

export interface QueueStatsRow {
  queue: string;
  priority: number;
  ready: number;
  scheduled: number;
  retrying: number;
  active: number;
  /** Seconds since the oldest ready job of this queue and priority became ready. */
  oldestReadyAgeSeconds: number | null;
}

export async function computeQueueStats(executeSql: ExecuteSql): Promise<QueueStatsRow[]> {
  const { rows } = await executeSql(`
    SELECT name AS queue, priority,
      count(*) FILTER (WHERE state < 'active' AND start_after <= now())::int AS ready,
      count(*) FILTER (WHERE state = 'created' AND start_after > now())::int AS scheduled,
      count(*) FILTER (WHERE state = 'retry' AND start_after > now())::int AS retrying,
      count(*) FILTER (WHERE state = 'active')::int AS active,
      extract(epoch FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after <= now()))::float8
        AS "oldestReadyAgeSeconds"
    FROM ${PGBOSS_SCHEMA}.job
    WHERE state < 'completed'
    GROUP BY name, priority`);
  return rows as QueueStatsRow[];
}
