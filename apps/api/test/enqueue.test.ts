import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIORITIES } from '@taskfleet/core';
import { useTestDatabase } from '../../../test-support/database.ts';
import { countJobs, startTestApi, type TestApi } from '../../../test-support/api.ts';

const db = useTestDatabase();
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi(db);
});
afterAll(() => api.close());

async function row(id: string) {
  const { rows } = await db.query(
    `SELECT name, state, priority, data, retry_limit, expire_seconds, start_after, created_on FROM pgboss.job WHERE id = $1`,
    [id],
  );
  return rows[0];
}

describe('POST /v1/queues/{queue}/tasks', () => {
  it('answers 202 with the id, state and status URL after the row is committed', async () => {
    const res = await api.request('/v1/queues/noop/tasks', { json: { payload: { echo: 'hi' } } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; queue: string; state: string; statusUrl: string };
    expect(body).toMatchObject({ queue: 'noop', state: 'queued' });
    expect(body.statusUrl).toBe(`http://localhost/v1/queues/noop/tasks/${body.id}`);
    expect(res.headers.get('location')).toBe(body.statusUrl);
    const stored = await row(body.id);
    expect(stored).toMatchObject({ name: 'noop', state: 'created', priority: PRIORITIES.normal });
    expect(stored.data.payload).toEqual({ echo: 'hi' });
    expect(stored.data.meta).toMatchObject({ submitter: null });
  });

  it('maps priority, maxAttempts, timeoutSeconds and delaySeconds onto the job', async () => {
    const res = await api.request('/v1/queues/noop/tasks', {
      json: { payload: {}, priority: 'critical', maxAttempts: 7, timeoutSeconds: 12, delaySeconds: 3600 },
    });
    expect(res.status).toBe(202);
    const { id, state } = (await res.json()) as { id: string; state: string };
    expect(state).toBe('scheduled');
    const stored = await row(id);
    expect(stored.priority).toBe(PRIORITIES.critical);
    expect(stored.retry_limit).toBe(6);
    expect(stored.expire_seconds).toBeGreaterThan(12);
    expect(stored.data.meta.timeoutSeconds).toBe(12);
    const delay = (new Date(stored.start_after).getTime() - new Date(stored.created_on).getTime()) / 1000;
    expect(delay).toBeCloseTo(3600, 0);
  });

  it('accepts runAt with a time zone', async () => {
    const runAt = '2031-05-01T10:00:00+02:00';
    const res = await api.request('/v1/queues/noop/tasks', { json: { payload: {}, runAt } });
    expect(res.status).toBe(202);
    const stored = await row(((await res.json()) as { id: string }).id);
    expect(new Date(stored.start_after).toISOString()).toBe('2031-05-01T08:00:00.000Z');
  });

  it('stores the traceparent and the request id, and echoes X-Request-Id', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await api.request('/v1/queues/noop/tasks', { json: { payload: {} }, headers: { traceparent, 'x-request-id': 'req-123' } });
    expect(res.headers.get('x-request-id')).toBe('req-123');
    const stored = await row(((await res.json()) as { id: string }).id);
    expect(stored.data.meta).toMatchObject({ traceparent, requestId: 'req-123' });
  });

  it('generates a request id when the given one is unusable', async () => {
    const res = await api.request('/v1/queues/noop/tasks', { json: { payload: {} }, headers: { 'x-request-id': 'bad id with spaces' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('validates http.request payloads with the task type schema', async () => {
    const ok = await api.request('/v1/queues/http.request/tasks', {
      json: { payload: { url: 'https://example.com/hook', body: { a: 1 } } },
    });
    expect(ok.status).toBe(202);
    const bad = await api.request('/v1/queues/http.request/tasks', { json: { payload: { url: 'ftp://x' } } });
    expect(bad.status).toBe(422);
    const problem = (await bad.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field)).toEqual(['payload.url']);
  });
});

describe('POST /v1/queues/{queue}/tasks:batch', () => {
  it('stores the valid items in one insert and reports each item', async () => {
    const before = await countJobs(db, 'noop');
    const res = await api.request('/v1/queues/noop/tasks:batch', {
      json: { tasks: [{ payload: {} }, { payload: { sleepMs: -1 } }, { payload: {}, priority: 'high' }, { nope: 1 }] },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as {
      accepted: number;
      invalid: number;
      results: { index: number; status: string; errors?: { field: string }[] }[];
    };
    expect(body).toMatchObject({ accepted: 2, invalid: 2, duplicate: 0 });
    expect(body.results.map((r) => r.status)).toEqual(['accepted', 'invalid', 'accepted', 'invalid']);
    expect(body.results[1]?.errors?.[0]?.field).toBe('tasks[1].payload.sleepMs');
    expect(body.results[3]?.errors?.map((e) => e.field)).toContain('tasks[3]');
    expect(await countJobs(db, 'noop')).toBe(before + 2);
  });

  it('answers 422 when no item is valid, storing nothing', async () => {
    const before = await countJobs(db);
    const res = await api.request('/v1/queues/noop/tasks:batch', { json: { tasks: [{ payload: { sleepMs: 'x' } }] } });
    expect(res.status).toBe(422);
    expect(await countJobs(db)).toBe(before);
  });

  it('enforces the batch size limit', async () => {
    const small = await startTestApi(db, { API_BATCH_MAX_TASKS: '3' });
    try {
      const res = await small.request('/v1/queues/noop/tasks:batch', {
        json: { tasks: Array.from({ length: 4 }, () => ({ payload: {} })) },
      });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { errors: { message: string }[] }).errors[0]?.message).toMatch(/at most 3 tasks/);
    } finally {
      await small.close();
    }
  });

  it('marks repeated idempotency keys inside and across batches as duplicates', async () => {
    const tasks = [
      { payload: {}, idempotencyKey: 'b-1' },
      { payload: {}, idempotencyKey: 'b-1' },
      { payload: { echo: 'different' }, idempotencyKey: 'b-2' },
    ];
    const first = (await (await api.request('/v1/queues/noop/tasks:batch', { json: { tasks } })).json()) as {
      results: { status: string; id: string }[];
    };
    expect(first.results.map((r) => r.status)).toEqual(['accepted', 'duplicate', 'accepted']);
    expect(first.results[0]?.id).toBe(first.results[1]?.id);
    const again = (await (
      await api.request('/v1/queues/noop/tasks:batch', {
        json: { tasks: [tasks[0], { payload: { echo: 'changed' }, idempotencyKey: 'b-2' }] },
      })
    ).json()) as { results: { status: string }[] };
    expect(again.results.map((r) => r.status)).toEqual(['duplicate', 'conflict']);
  });
});
