/**
 * Worker presence (`taskfleet.workers`): each worker process upserts its row every beat (1 s by
 * default) and deletes it on a clean stop; readers show replicas seen recently. A row is keyed by the
 * process's incarnation (migration 000010): a replica restarted with the same WORKER_ID is a new row.
 */
import type { ExecuteSql } from './executor.ts';

export interface WorkerPresence {
  id: string;
  hostname: string;
  pid: number;
  queues: string[];
  concurrency: number;
  active: number;
}

export interface WorkerInfo extends WorkerPresence {
  startedAt: Date;
  seenAt: Date;
}

/** A replica not seen for this long is not shown. */
export const PRESENCE_LIVE_SECONDS = 30;

export async function upsertPresence(executeSql: ExecuteSql, incarnation: string, w: WorkerPresence): Promise<void> {
  await executeSql(
    `INSERT INTO taskfleet.workers (incarnation, id, hostname, pid, queues, concurrency, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (incarnation) DO UPDATE SET active = EXCLUDED.active, queues = EXCLUDED.queues, concurrency = EXCLUDED.concurrency,
       pid = EXCLUDED.pid, hostname = EXCLUDED.hostname, seen_at = now()`,
    [incarnation, w.id, w.hostname, w.pid, w.queues, w.concurrency, w.active],
  );
}

/** Forget replicas that died without deleting their row, after an hour. */
export async function prunePresence(executeSql: ExecuteSql): Promise<void> {
  await executeSql(`DELETE FROM taskfleet.workers WHERE seen_at < now() - interval '1 hour'`);
}

export async function deletePresence(executeSql: ExecuteSql, incarnation: string): Promise<void> {
  await executeSql('DELETE FROM taskfleet.workers WHERE incarnation = $1', [incarnation]);
}

/** Replicas seen in the last `PRESENCE_LIVE_SECONDS`, by id. */
export async function liveWorkers(executeSql: ExecuteSql): Promise<WorkerInfo[]> {
  const { rows } = await executeSql(
    `SELECT id, hostname, pid, queues, concurrency, active, started_at AS "startedAt", seen_at AS "seenAt"
       FROM taskfleet.workers WHERE seen_at > now() - make_interval(secs => $1) ORDER BY id`,
    [PRESENCE_LIVE_SECONDS],
  );
  return rows as WorkerInfo[];
}
