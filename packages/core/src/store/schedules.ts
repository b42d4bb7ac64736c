/**
 * Recurring schedules (taskfleet.schedules, migration 000012): their reads and writes for the API,
 * and the scheduler tick's transaction — take the due rows FOR UPDATE SKIP LOCKED, insert each one's
 * task through the ingest insert, move the row to its next slot, commit, then wake the queues. A row
 * is in at most one replica's tick at a time, and the task ids are derived from (name, slot), so a
 * slot repeated by any path still inserts one task.
 */
import type { JobInsert, PgBoss } from 'pg-boss';
import type { TaskEnvelope } from '../tasks/envelope.ts';
import { insertTasks } from './enqueue.ts';
import type { ExecutePrepared, ExecuteSql } from './executor.ts';
import type { Wake } from './wake.ts';

const T = 'taskfleet.schedules';

/** Enqueue options a schedule gives each of its tasks (as the API accepted them). */
export interface ScheduleOptions {
  priority?: string;
  maxAttempts?: number;
  timeoutSeconds?: number;
  group?: string;
}

export interface ScheduleRow {
  name: string;
  queue: string;
  cron: string;
  timezone: string;
  payload: unknown;
  options: ScheduleOptions;
  /** API key id that set the schedule (its tasks' submitter); null with auth disabled. */
  submitter: string | null;
  nextRunAt: Date;
  lastRunAt: Date | null;
  lastTaskId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `name, queue, cron, timezone, payload, options, submitter::text AS submitter, next_run_at, last_run_at,
  last_task_id::text AS last_task_id, created_at, updated_at`;

function rowOf(r: Record<string, any>): ScheduleRow {
  return {
    name: r.name,
    queue: r.queue,
    cron: r.cron,
    timezone: r.timezone,
    payload: r.payload,
    options: r.options ?? {},
    submitter: r.submitter ?? null,
    nextRunAt: r.next_run_at,
    lastRunAt: r.last_run_at ?? null,
    lastTaskId: r.last_task_id ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The database's clock: every replica computes slots from the same one. */
export async function databaseNow(executeSql: ExecuteSql): Promise<Date> {
  const { rows } = await executeSql('SELECT now() AS now');
  return (rows[0] as { now: Date }).now;
}

/**
 * Create or replace a schedule. A replacement keeps its owner (`submitter`: an admin may replace
 * another key's schedule) and, with the same cron and time zone, its next slot (a payload change
 * neither skips nor repeats a slot); otherwise `nextRunAt` applies.
 */
export async function upsertSchedule(
  executeSql: ExecuteSql,
  s: Pick<ScheduleRow, 'name' | 'queue' | 'cron' | 'timezone' | 'payload' | 'options' | 'submitter' | 'nextRunAt'>,
): Promise<{ created: boolean; schedule: ScheduleRow }> {
  const { rows } = await executeSql(
    `INSERT INTO ${T} AS s (name, queue, cron, timezone, payload, options, submitter, next_run_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::uuid, $8)
     ON CONFLICT (name) DO UPDATE SET
       queue = EXCLUDED.queue, cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, payload = EXCLUDED.payload,
       options = EXCLUDED.options, updated_at = now(),
       next_run_at = CASE WHEN s.cron = EXCLUDED.cron AND s.timezone = EXCLUDED.timezone THEN s.next_run_at ELSE EXCLUDED.next_run_at END
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [s.name, s.queue, s.cron, s.timezone, JSON.stringify(s.payload), JSON.stringify(s.options), s.submitter, s.nextRunAt],
  );
  const r = rows[0] as Record<string, any>;
  return { created: r.created === true, schedule: rowOf(r) };
}

export async function getSchedule(executeSql: ExecuteSql, name: string): Promise<ScheduleRow | undefined> {
  const { rows } = await executeSql(`SELECT ${COLUMNS} FROM ${T} WHERE name = $1`, [name]);
  return rows[0] ? rowOf(rows[0]) : undefined;
}

/** Every schedule by name, or only those set by `submitter` when given. */
export async function listSchedules(executeSql: ExecuteSql, filter: { submitter?: string | null } = {}): Promise<ScheduleRow[]> {
  const own = filter.submitter !== undefined;
  const { rows } = await executeSql(
    `SELECT ${COLUMNS} FROM ${T} ${own ? 'WHERE submitter IS NOT DISTINCT FROM $1::uuid' : ''} ORDER BY name`,
    own ? [filter.submitter] : [],
  );
  return rows.map(rowOf);
}

/** Delete a schedule; false when there was none. Its tasks already inserted stay. */
export async function deleteSchedule(executeSql: ExecuteSql, name: string): Promise<boolean> {
  const { rows } = await executeSql(`DELETE FROM ${T} WHERE name = $1 RETURNING name`, [name]);
  return rows.length > 0;
}

/** What the tick does with one due schedule: fire a task for a slot, or only move it on. */
export type SchedulePlan =
  | { task: JobInsert<TaskEnvelope> & { id: string }; slot: Date; nextRunAt: Date }
  | { task: null; nextRunAt: Date; reason: string };

/** One due schedule the tick handled. */
export interface ScheduleFiring {
  name: string;
  queue: string;
  /** The slot fired (null: moved on without a task, see `reason`). */
  slot: Date | null;
  taskId: string | null;
  /** False when a task with this slot's id existed already. */
  inserted: boolean;
  nextRunAt: Date;
  reason?: string;
}

/**
 * The tick: in one transaction, up to `limit` due schedules (locked; rows another replica's tick
 * holds are skipped), each planned by `plan` against the database's clock, its task inserted and
 * the row moved to `nextRunAt`. Queues with new runnable tasks are woken after the commit.
 */
export async function fireDueSchedules(
  boss: PgBoss,
  limit: number,
  plan: (schedule: ScheduleRow, now: Date) => SchedulePlan,
  wake: Wake,
): Promise<ScheduleFiring[]> {
  const db = boss.getDb();
  if (!db.beginTransaction) throw new Error("pg-boss's database adapter cannot open a transaction");
  const tx = await db.beginTransaction();
  const woken = new Set<string>();
  const fired: ScheduleFiring[] = [];
  try {
    // pg-boss types the first argument as a string but hands it to pg untouched (executor.ts).
    const run = tx.db.executeSql as ExecutePrepared;
    const { rows } = await run(
      `SELECT ${COLUMNS}, now() AS db_now FROM ${T} WHERE next_run_at <= now() ORDER BY next_run_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    for (const r of rows as Record<string, any>[]) {
      const schedule = rowOf(r);
      const p = plan(schedule, r.db_now as Date);
      const base = { name: schedule.name, queue: schedule.queue, nextRunAt: p.nextRunAt };
      if (p.task === null) {
        await run(`UPDATE ${T} SET next_run_at = $2 WHERE name = $1`, [schedule.name, p.nextRunAt]);
        fired.push({ ...base, slot: null, taskId: null, inserted: false, reason: p.reason });
        continue;
      }
      const inserted = await insertTasks(run, schedule.queue, [p.task], (queue) => woken.add(queue));
      await run(`UPDATE ${T} SET next_run_at = $2, last_run_at = $3, last_task_id = $4::uuid WHERE name = $1`, [
        schedule.name,
        p.nextRunAt,
        p.slot,
        p.task.id,
      ]);
      fired.push({ ...base, slot: p.slot, taskId: p.task.id, inserted: inserted.length > 0 });
    }
    await tx.commit();
  } catch (err) {
    await tx.rollback().catch(() => undefined);
    throw err;
  }
  for (const queue of woken) wake(queue);
  return fired;
}
