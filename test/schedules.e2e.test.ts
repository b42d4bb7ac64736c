/**
 * Issue 17's acceptance for schedules, with real processes: a `* * * * *` schedule on a fleet of 3 API
 * and 2 worker replicas (every one of them runs the scheduler) inserts exactly one task per minute
 * slot — 3 over 3 minutes, each run once — and none after it is deleted. Bounded by ~4.5 minutes:
 * up to a minute to the first slot, two more to the third, one more to show the next slot stays empty.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Fleet } from '../test-support/chaos.ts';
import { useTestDatabase } from '../test-support/database.ts';

const db = useTestDatabase();
let fleet: Fleet | undefined;
afterAll(() => fleet?.stop());

const NAME = 'every-minute';

async function scheduledTasks() {
  const { rows } = await db.query<{ id: string; slot: string; state: string }>(
    `SELECT id::text, data->'meta'->>'slot' AS slot, state FROM pgboss.job WHERE name = 'noop' AND data->'meta'->>'schedule' = $1 ORDER BY 2`,
    [NAME],
  );
  return rows;
}

/** Poll until `check` holds (or fail with what was last seen). */
async function until<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

/** The fleet's taskfleet_scheduled_tasks_total, summed over every replica's /metrics. */
async function firedCounter(f: Fleet): Promise<number> {
  let sum = 0;
  for (const p of [...f.apis, ...f.workers]) {
    const text = await (await fetch(`${p.url}/metrics`)).text();
    for (const m of text.matchAll(/^taskfleet_scheduled_tasks_total\{[^}]*queue="noop"[^}]*\} (\d+)/gm)) sum += Number(m[1]);
  }
  return sum;
}

describe('recurring schedules on a fleet (3 API + 2 worker replicas)', () => {
  it('fires a * * * * * schedule exactly once per minute, and never after it is deleted', { timeout: 300_000 }, async () => {
    // Ticks every ~0.5 s on every replica: five schedulers race for each slot.
    const f = new Fleet({ DATABASE_URL: db.url, SCHEDULER_INTERVAL_MS: '500', LOG_LEVEL: 'info' });
    fleet = f;
    await Promise.all([f.addApi(), f.addApi(), f.addApi(), f.addWorker(), f.addWorker()]);
    const api = f.apiUrls()[0] as string;

    const put = await fetch(`${api}/v1/schedules/${NAME}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ queue: 'noop', cron: '* * * * *', payload: { echo: 'tick' } }),
    });
    expect(put.status).toBe(201);
    const first = Date.parse(((await put.json()) as { nextRunAt: string }).nextRunAt);
    const slots = [0, 1, 2].map((i) => new Date(first + i * 60_000).toISOString());

    // Three slots: one task each, run once by a worker.
    const tasks = await until(
      'three completed scheduled tasks',
      scheduledTasks,
      (t) => t.length >= 3 && t.every((x) => x.state === 'completed'),
      first + 2 * 60_000 + 45_000 - Date.now(),
    );
    expect(tasks.map((t) => t.slot)).toEqual(slots);
    expect(await firedCounter(f)).toBe(3);

    // Deleted before the fourth slot: nothing for it (5 s past it is 10 ticks of every replica).
    const deleted = await fetch(`${api}/v1/schedules/${NAME}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(Date.now()).toBeLessThan(first + 3 * 60_000); // the test did reach it in time
    await sleepUntil(first + 3 * 60_000 + 5_000);
    expect((await scheduledTasks()).map((t) => t.slot)).toEqual(slots);
    expect((await fetch(`${f.apiUrls()[1]}/v1/schedules/${NAME}`)).status).toBe(404);

    // The fired log lines name the schedule, the queue and the task (one per slot, fleet-wide).
    const fired = [...f.apis, ...f.workers].flatMap((p) =>
      p
        .output()
        .split('\n')
        .filter((l) => l.includes('"msg":"schedule fired"')),
    );
    expect(fired).toHaveLength(3);
    for (const line of fired) expect(line).toMatch(new RegExp(`"schedule":"${NAME}","queue":"noop","taskId":"[0-9a-f-]{36}"`));
    expect(new Set(fired.map((l) => /"taskId":"([^"]+)"/.exec(l)?.[1]))).toEqual(new Set(tasks.map((t) => t.id)));
    expect(f.unexpectedExits()).toEqual([]);
    console.log(
      `[schedules] 3 slots on 5 replicas: ${tasks.length} tasks (${[...new Set(fired.map((l) => /"pid":(\d+)/.exec(l)?.[1]))].length} distinct firing replicas)`,
    );
  });
});
