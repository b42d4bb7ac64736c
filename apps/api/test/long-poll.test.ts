/**
 * Long-poll (`GET …/tasks/{id}?waitSeconds=`) on one in-process API and real PostgreSQL: the answer
 * comes when the task ends (a cancel through the API, a worker's completion), or after the wait with
 * the current state; the waiters are bounded (503 + Retry-After), a gone client frees its slot, and
 * shutdown answers every waiter at once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestWorker, waitFor } from '../../../test-support/worker.ts';

const db = useTestDatabase();
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(db, { API_LONG_POLL_MAX_WAITERS: '3' });
  await waitFor(() => api.longPoll.listener.up, 'the LISTEN connection');
});
afterAll(async () => {
  await api?.close();
});
afterEach(async () => {
  await db.query('DELETE FROM pgboss.job');
});

async function submit(payload: unknown = {}): Promise<string> {
  const res = await api.request('/v1/queues/noop/tasks', { json: { payload } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

function poll(id: string, waitSeconds: number | string, signal?: AbortSignal) {
  return api.request(`/v1/queues/noop/tasks/${id}?waitSeconds=${waitSeconds}`, signal ? { signal } : {});
}

describe('long-poll', () => {
  it('answers as soon as the task is cancelled, with its new state', async () => {
    const id = await submit();
    const started = Date.now();
    const answer = poll(id, 30);
    await waitFor(() => api.longPoll.waiters.size === 1, 'the waiter');
    expect((await api.request(`/v1/queues/noop/tasks/${id}:cancel`, { method: 'POST' })).status).toBe(200);
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-wait-outcome')).toBe('ended');
    expect(((await res.json()) as { state: string }).state).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(api.longPoll.waiters.size).toBe(0);
  });

  it('answers when a worker completes the task (and at once for a task that has ended)', async () => {
    const id = await submit({ sleepMs: 200, echo: 'done' });
    const answer = poll(id, 30);
    await waitFor(() => api.longPoll.waiters.size === 1, 'the waiter');
    const worker = await startTestWorker(db);
    try {
      const res = await answer;
      expect(res.headers.get('x-wait-outcome')).toBe('ended');
      expect(await res.json()).toMatchObject({ state: 'completed', output: { echo: 'done' } });
      const again = await poll(id, 30);
      expect(again.headers.get('x-wait-outcome')).toBe('ended');
    } finally {
      await worker.stop(1);
    }
  });

  it('answers a dead-lettered task (a failure is recorded as a re-insert, not an update)', async () => {
    const id = await submit({ failPermanently: true });
    const answer = poll(id, 30);
    await waitFor(() => api.longPoll.waiters.size === 1, 'the waiter');
    const worker = await startTestWorker(db);
    try {
      const res = await answer;
      expect(res.headers.get('x-wait-outcome')).toBe('ended');
      expect(((await res.json()) as { state: string }).state).toBe('dead_lettered');
    } finally {
      await worker.stop(1);
    }
  });

  it('misses no end while its LISTEN connection is lost (shared re-check, then reconnect)', async () => {
    const id = await submit();
    const answer = poll(id, 30);
    await waitFor(() => api.longPoll.waiters.size === 1, 'the waiter');
    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'taskfleet-api-long-poll' AND datname = current_database()`,
    );
    await waitFor(() => !api.longPoll.listener.up, 'the LISTEN connection lost');
    // Cancelled while the listener is down: its NOTIFY goes to nobody.
    expect((await api.request(`/v1/queues/noop/tasks/${id}:cancel`, { method: 'POST' })).status).toBe(200);
    const res = await answer;
    expect(res.headers.get('x-wait-outcome')).toBe('ended');
    expect(((await res.json()) as { state: string }).state).toBe('cancelled');
    await waitFor(() => api.longPoll.listener.up, 'the LISTEN connection back', 30_000);
  });

  it('answers with the current state after waitSeconds', async () => {
    const id = await submit();
    const started = Date.now();
    const res = await poll(id, 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(res.headers.get('x-wait-outcome')).toBe('timeout');
    expect(((await res.json()) as { state: string }).state).toBe('queued');
  });

  it('refuses a waiter beyond API_LONG_POLL_MAX_WAITERS with 503 + Retry-After; a gone client frees its slot', async () => {
    const ids = await Promise.all([submit(), submit(), submit(), submit()]);
    const controllers = ids.slice(0, 3).map(() => new AbortController());
    const pending = ids.slice(0, 3).map((id, i) => poll(id, 30, controllers[i]?.signal).catch(() => undefined));
    await waitFor(() => api.longPoll.waiters.size === 3, 'three waiters');
    expect(await (await api.request('/metrics')).text()).toMatch(/^taskfleet_api_long_poll_waiters\{[^}]*\} 3$/m);
    const refused = await poll(ids[3] as string, 30);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    controllers[0]?.abort();
    await waitFor(() => api.longPoll.waiters.size === 2, 'the aborted waiter gone');
    api.longPoll.release(); // as at shutdown: the rest answer now with their current state
    const answers = await Promise.all(pending.slice(1));
    for (const res of answers) {
      expect(res?.status).toBe(200);
      expect(res?.headers.get('x-wait-outcome')).toBe('shutdown');
    }
  });

  it('answers 422 naming waitSeconds outside 0–60, 404 for an unknown task', async () => {
    const id = await submit();
    for (const bad of ['61', '-1', '1.5', 'x']) {
      const res = await poll(id, bad);
      expect(res.status).toBe(422);
      expect(((await res.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe('waitSeconds');
    }
    expect((await poll('0190aaaa-0000-7000-8000-000000000000', 5)).status).toBe(404);
    const now = await poll(id, 0);
    expect(now.headers.get('x-wait-outcome')).toBeNull();
  });
});
