/**
 * Schedules across a restart of every replica, with real processes: slots that came due while the
 * whole fleet was down are caught up on recovery with one task — for the latest missed slot, not one
 * per missed slot — by whichever of the new replicas gets there first, and it runs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Fleet } from '../test-support/chaos.ts';
import { useTestDatabase } from '../test-support/database.ts';

const db = useTestDatabase();
const fleets: Fleet[] = [];
afterAll(async () => {
  for (const f of fleets) await f.stop();
});

const NAME = 'yearly';
const env = () => ({ DATABASE_URL: db.url, SCHEDULER_INTERVAL_MS: '200', LOG_LEVEL: 'info' });

async function scheduledTasks() {
  const { rows } = await db.query<{ id: string; slot: string; state: string }>(
    `SELECT id::text, data->'meta'->>'slot' AS slot, state FROM pgboss.job WHERE name = 'noop' AND data->'meta'->>'schedule' = $1`,
    [NAME],
  );
  return rows;
}

describe('schedules across a restart of every replica', () => {
  it('fires only the latest slot missed during a full outage, once, on recovery', { timeout: 120_000 }, async () => {
    const before = new Fleet(env());
    fleets.push(before);
    await before.addApi();
    await before.addWorker();
    // New Year's midnight UTC: its next slot is months away, so only the slots the test fakes are due.
    const put = await fetch(`${before.apiUrls()[0]}/v1/schedules/${NAME}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ queue: 'noop', cron: '0 0 1 1 *', payload: { echo: 'new year' } }),
    });
    expect(put.status).toBe(201);
    await before.stop(); // every replica down
    expect(before.unexpectedExits()).toEqual([]);

    // The outage lasted years: every New Year since 2021 was missed.
    await db.query(`UPDATE taskfleet.schedules SET next_run_at = '2021-01-01T00:00:00Z' WHERE name = $1`, [NAME]);
    const { rows } = await db.query<{ latest: Date; next: Date }>(
      `SELECT date_trunc('year', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS latest,
              (date_trunc('year', now() AT TIME ZONE 'UTC') + interval '1 year') AT TIME ZONE 'UTC' AS next`,
    );
    const { latest, next } = rows[0] as { latest: Date; next: Date };

    const after = new Fleet(env());
    fleets.push(after);
    await Promise.all([after.addApi(), after.addApi(), after.addWorker()]);
    const deadline = Date.now() + 30_000;
    while ((await scheduledTasks()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2_000)); // ~10 more ticks of each of the three replicas
    const tasks = await scheduledTasks();
    expect(tasks.map((t) => t.slot)).toEqual([latest.toISOString()]);
    const until = Date.now() + 30_000;
    while ((await scheduledTasks())[0]?.state !== 'completed' && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect((await scheduledTasks())[0]?.state).toBe('completed');

    const view = (await (await fetch(`${after.apiUrls()[1]}/v1/schedules/${NAME}`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({
      lastRunAt: latest.toISOString(),
      nextRunAt: next.toISOString(),
      lastTaskId: tasks[0]?.id,
    });
    expect(after.unexpectedExits()).toEqual([]);
  });
});
