/**
 * PATCH /v1/queues/{queue} (fleet-wide flow control) and a real cancel: the replica running a
 * cancelled task aborts its handler within a second, and the task stays cancelled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestWorker, type TestWorker, waitFor } from '../../../test-support/worker.ts';

const db = useTestDatabase();
let api: TestApi;
let secured: TestApi;
beforeAll(async () => {
  api = await startTestApi(db);
  secured = await startTestApi(db, { API_AUTH: 'required' });
});
afterAll(async () => {
  await api.close();
  await secured.close();
});

const patch = (queue: string, body: unknown, key?: string, on: TestApi = api) =>
  on.request(`/v1/queues/${queue}`, { method: 'PATCH', json: body, ...(key ? { key } : {}) });

describe('PATCH /v1/queues/{queue}', () => {
  it('sets, shows and clears pause, concurrency, rate and group concurrency', async () => {
    const set = await patch('noop', { paused: true, concurrency: 20, rate: { limit: 100, periodSeconds: 1 }, groupConcurrency: 3 });
    expect(set.status).toBe(200);
    expect(((await set.json()) as { settings: unknown }).settings).toEqual({
      paused: true,
      concurrency: 20,
      rate: { limit: 100, periodSeconds: 1 },
      groupConcurrency: 3,
    });
    const partial = await patch('noop', { concurrency: null });
    expect(((await partial.json()) as { settings: unknown }).settings).toEqual({
      paused: true,
      concurrency: null,
      rate: { limit: 100, periodSeconds: 1 },
      groupConcurrency: 3,
    });
    const shown = (await (await api.request('/v1/queues/noop')).json()) as { settings: { paused: boolean } };
    expect(shown.settings.paused).toBe(true);
    const listed = (await (await api.request('/v1/queues')).json()) as { queues: { name: string; settings: unknown }[] };
    expect(listed.queues.find((q) => q.name === 'noop')?.settings).toMatchObject({ paused: true });
    await patch('noop', { paused: false, rate: null, groupConcurrency: null });
    const cleared = (await (await api.request('/v1/queues/noop')).json()) as { settings: unknown };
    expect(cleared.settings).toEqual({ paused: false, concurrency: null, rate: null, groupConcurrency: null });
  });

  it('refuses bad settings with a problem naming the field, and changes nothing', async () => {
    for (const [body, field] of [
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: 1.5 }, 'concurrency'],
      [{ rate: { limit: 0, periodSeconds: 1 } }, 'rate.limit'],
      [{ rate: { limit: 10 } }, 'rate.periodSeconds'],
      [{ paused: 'yes' }, 'paused'],
      [{ pause: true }, 'pause'],
      [{ groupConcurrency: 0 }, 'groupConcurrency'],
    ] as const) {
      const res = await patch('noop', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      const problem = (await res.json()) as { errors: { field: string; message: string }[] };
      // The field is named (an unknown one in the message of the body-level error).
      expect(
        problem.errors.some((e) => e.field === field || e.message.includes(field)),
        JSON.stringify(problem.errors),
      ).toBe(true);
    }
    const shown = (await (await api.request('/v1/queues/noop')).json()) as { settings: unknown };
    expect(shown.settings).toEqual({ paused: false, concurrency: null, rate: null, groupConcurrency: null });
  });

  it('answers 404 for an unknown or dead-letter queue and 403 without the admin scope', async () => {
    expect((await patch('nope', { paused: true })).status).toBe(404);
    expect((await patch('noop.dead', { paused: true })).status).toBe(404);
    const submitKey = await secured.createKey('submitter', ['submit']);
    expect((await patch('noop', { paused: true }, submitKey, secured)).status).toBe(403);
    const adminKey = await secured.createKey('operator', ['admin']);
    expect((await patch('noop', { paused: false }, adminKey, secured)).status).toBe(200);
  });
});

describe('task groups', () => {
  it("defaults a task's group to its API key's name, keeps one sent, and refuses a bad one naming the field", async () => {
    const key = await secured.createKey('tenant-7', ['submit', 'read']);
    const enqueue = async (body: object) => {
      const res = await secured.request('/v1/queues/noop/tasks', { json: { payload: {}, ...body }, key });
      const { id } = (await res.json()) as { id: string };
      const task = (await (await secured.request(`/v1/queues/noop/tasks/${id}`, { key })).json()) as { group: string | null };
      return task.group;
    };
    expect(await enqueue({})).toBe('tenant-7');
    expect(await enqueue({ group: 'customer-42' })).toBe('customer-42');
    const anonymous = await api.request('/v1/queues/noop/tasks', { json: { payload: {} } });
    const { id } = (await anonymous.json()) as { id: string };
    expect(((await (await api.request(`/v1/queues/noop/tasks/${id}`)).json()) as { group: unknown }).group).toBeNull();
    for (const group of ['', 'a\nb', 'x'.repeat(129), 7]) {
      const res = await secured.request('/v1/queues/noop/tasks', { json: { payload: {}, group }, key });
      expect(res.status, JSON.stringify(group)).toBe(422);
      expect(new Set(((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field))).toEqual(new Set(['group']));
    }
    await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`); // not for the worker of the next test
  });
});

describe('cancel of a running task', () => {
  it('aborts its handler within a second; the task stays cancelled and is not run again', { timeout: 30_000 }, async () => {
    const worker: TestWorker = await startTestWorker(db);
    try {
      await cancelRunning(worker);
    } finally {
      await worker.stop(1);
    }
  });
});

async function cancelRunning(worker: TestWorker): Promise<void> {
  const cancelled: number[] = [];
  let starts = 0;
  worker.worker.events.on('job:start', () => starts++);
  worker.worker.events.on('job:cancelled', () => cancelled.push(Date.now()));
  const res = await api.request('/v1/queues/noop/tasks', { json: { payload: { sleepMs: 30_000 }, maxAttempts: 3 } });
  const { id } = (await res.json()) as { id: string };
  await waitFor(() => worker.worker.slots.active === 1, 'the task runs');
  const asked = Date.now();
  const answer = await api.request(`/v1/queues/noop/tasks/${id}:cancel`, { method: 'POST' });
  expect(answer.status).toBe(200);
  await waitFor(() => cancelled.length === 1, 'the handler aborted', 5_000);
  expect((cancelled[0] as number) - asked).toBeLessThan(1_000);
  await new Promise((r) => setTimeout(r, 1_500));
  const { rows } = await db.query('SELECT state FROM pgboss.job WHERE id = $1', [id]);
  expect(rows[0].state).toBe('cancelled');
  expect(starts).toBe(1);
  expect(worker.worker.slots.active).toBe(0);
}
