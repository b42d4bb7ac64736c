/**
 * The scheduler tick against PostgreSQL: one task per slot however many ticks race for it, the
 * latest missed slot (only) on recovery, a replica that starts after an outage catches up, and the
 * task is a taskfleet envelope marked with its schedule and slot.
 */
import {
  createMetricsRegistry,
  databaseNow,
  executorOf,
  getSchedule,
  nextSlotAfter,
  PRIORITIES,
  Scheduler,
  scheduledTaskId,
  upsertSchedule,
} from '@taskfleet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { useTestBoss } from '../../../test-support/boss.ts';
import { useTestDatabase } from '../../../test-support/database.ts';

const db = useTestDatabase();
const boss = useTestBoss(db, 6);

afterEach(async () => {
  await db.query('DELETE FROM taskfleet.schedules');
  await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
});

const scheduler = (intervalMs = 0) =>
  new Scheduler({ boss: boss(), logger: db.logger, registry: createMetricsRegistry('test'), wake: () => {}, intervalMs });

/** A `* * * * *` noop schedule whose next slot is `minutesAgo` minutes before the database's now. */
async function dueSchedule(name: string, minutesAgo: number, options: Record<string, unknown> = {}) {
  const exec = executorOf(boss());
  await upsertSchedule(exec, {
    name,
    queue: 'noop',
    cron: '* * * * *',
    timezone: 'UTC',
    payload: { n: 1 },
    options,
    submitter: null,
    nextRunAt: nextSlotAfter('* * * * *', 'UTC', await databaseNow(exec)),
  });
  await db.query(`UPDATE taskfleet.schedules SET next_run_at = date_trunc('minute', now()) - $2 * interval '1 minute' WHERE name = $1`, [
    name,
    minutesAgo,
  ]);
}

/** The database's current minute (the `* * * * *` slot at or before now). */
async function minuteNow(): Promise<Date> {
  const { rows } = await db.query<{ slot: Date }>(`SELECT date_trunc('minute', now()) AS slot`);
  return rows[0]?.slot as Date;
}

async function scheduledTasks(name: string) {
  const { rows } = await db.query<{ id: string; data: any; priority: number; retry_limit: number; group_id: string | null }>(
    `SELECT id::text, data, priority, retry_limit, group_id FROM pgboss.job WHERE name = 'noop' AND data->'meta'->>'schedule' = $1 ORDER BY id`,
    [name],
  );
  return rows;
}

describe('scheduler tick', () => {
  it('inserts an envelope for the slot, with the schedule options, and moves to the next slot', async () => {
    await dueSchedule('opts', 0, { priority: 'high', maxAttempts: 2, timeoutSeconds: 30, group: 'g1' });
    const before = await minuteNow();
    const fired = await scheduler().tick();
    expect(fired).toHaveLength(1);
    const [task] = await scheduledTasks('opts');
    const slot = new Date(task?.data.meta.slot);
    expect([before, await minuteNow()]).toContainEqual(slot);
    expect(task?.id).toBe(scheduledTaskId('opts', slot));
    expect(task?.data).toEqual({
      payload: { n: 1 },
      meta: { submitter: null, schedule: 'opts', slot: slot.toISOString(), timeoutSeconds: 30 },
    });
    expect(task?.priority).toBe(PRIORITIES.high);
    expect(task?.retry_limit).toBe(1);
    expect(task?.group_id).toBe('g1');
    const s = await getSchedule(executorOf(boss()), 'opts');
    expect(s?.lastRunAt?.toISOString()).toBe(slot.toISOString());
    expect(s?.lastTaskId).toBe(task?.id);
    expect(s?.nextRunAt.getTime()).toBe(slot.getTime() + 60_000);
    expect(await scheduler().tick()).toEqual([]); // not due any more
  });

  it('racing ticks insert one task per slot, and a slot fired again inserts nothing', async () => {
    await dueSchedule('race', 0);
    const ticks = await Promise.all(Array.from({ length: 5 }, () => scheduler().tick()));
    expect(ticks.flat().filter((f) => f.inserted)).toHaveLength(1);
    expect(await scheduledTasks('race')).toHaveLength(1);
    // The same slot due again (as if a tick's commit were repeated): the derived id refuses it.
    await db.query(`UPDATE taskfleet.schedules SET next_run_at = last_run_at WHERE name = 'race'`);
    const again = await scheduler().tick();
    expect(again).toMatchObject([{ name: 'race', inserted: false }]);
    expect(await scheduledTasks('race')).toHaveLength(1);
  });

  it('after a full outage runs the latest missed slot once and skips the older ones', async () => {
    await dueSchedule('missed', 10);
    const before = await minuteNow();
    await scheduler().tick();
    const tasks = await scheduledTasks('missed');
    expect(tasks).toHaveLength(1);
    // The latest slot at or before now — the minute just begun — not the one ten minutes back.
    expect([before, await minuteNow()]).toContainEqual(new Date(tasks[0]?.data.meta.slot));
    const s = await getSchedule(executorOf(boss()), 'missed');
    expect(s?.nextRunAt.getTime()).toBeGreaterThan(Date.now() - 5_000);
  });

  it('a replica started after every replica was down fires the missed slot exactly once', async () => {
    await dueSchedule('restart', 3);
    const replicas = [scheduler(50), scheduler(50), scheduler(50)];
    for (const r of replicas) r.start();
    try {
      const deadline = Date.now() + 20_000;
      while ((await scheduledTasks('restart')).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500)); // ~10 more ticks per replica
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
    // One, unless the test straddled a minute boundary (then the new minute's slot is due too).
    const tasks = await scheduledTasks('restart');
    expect(tasks.length).toBeGreaterThanOrEqual(1);
    expect(new Set(tasks.map((t) => t.data.meta.slot)).size).toBe(tasks.length);
    expect(tasks.length).toBeLessThanOrEqual(2);
  });

  it('a schedule of a task type this replica does not know is put off, not fired', async () => {
    await dueSchedule('unknown', 0);
    await db.query(`UPDATE taskfleet.schedules SET queue = 'not.registered' WHERE name = 'unknown'`);
    const fired = await scheduler().tick();
    expect(fired).toMatchObject([{ name: 'unknown', slot: null, taskId: null, inserted: false }]);
    const s = await getSchedule(executorOf(boss()), 'unknown');
    expect(s?.nextRunAt.getTime()).toBeGreaterThan(Date.now() + 30_000);
  });
});
