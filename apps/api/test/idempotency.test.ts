import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { countJobs, startTestApi, type TestApi } from '../../../test-support/api.ts';

const db = useTestDatabase();
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi(db);
});
afterAll(() => api.close());

const enqueue = (body: unknown, headers: Record<string, string> = {}) => api.request('/v1/queues/noop/tasks', { json: body, headers });

describe('idempotency', () => {
  it('a repeat answers 200 with the same task and enqueues nothing', async () => {
    const first = await enqueue({ payload: { echo: 1 }, idempotencyKey: 'order-1' });
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    const before = await countJobs(db, 'noop');
    const again = await enqueue({ idempotencyKey: 'order-1', payload: { echo: 1 } });
    expect(again.status).toBe(200);
    const task = (await again.json()) as { id: string; state: string; idempotencyKey: string };
    expect(task).toMatchObject({ id, state: 'queued', idempotencyKey: 'order-1' });
    expect(await countJobs(db, 'noop')).toBe(before);
  });

  it('the Idempotency-Key header works like the body field', async () => {
    const first = await enqueue({ payload: {} }, { 'idempotency-key': 'hdr-1' });
    const again = await enqueue({ payload: {}, idempotencyKey: 'hdr-1' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
  });

  it('the same key with a different request → 409 naming the existing task', async () => {
    const first = await enqueue({ payload: { echo: 'a' }, idempotencyKey: 'conflict-1' });
    const { id } = (await first.json()) as { id: string };
    const res = await enqueue({ payload: { echo: 'b' }, idempotencyKey: 'conflict-1' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { taskId: string }).taskId).toBe(id);
  });

  it('100 parallel requests with one key create exactly one task, and all answer with its id', async () => {
    const before = await countJobs(db, 'noop');
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => enqueue({ payload: { echo: 'race' }, idempotencyKey: 'race-1' })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(99);
    const ids = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    expect(await countJobs(db, 'noop')).toBe(before + 1);
  });

  it('keys are scoped per queue', async () => {
    const a = await api.request('/v1/queues/noop/tasks', { json: { payload: {}, idempotencyKey: 'scope-1' } });
    const b = await api.request('/v1/queues/http.request/tasks', {
      json: { payload: { url: 'https://example.com' }, idempotencyKey: 'scope-1' },
    });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
  });
});

describe('group commit', () => {
  it('N concurrent requests → N committed rows in fewer statements, ids match the answers', async () => {
    const statements: number[] = [];
    const observe = api.metrics.groupCommitRows;
    const before = await countJobs(db, 'noop');
    const countBefore = (await observe.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    const responses = await Promise.all(Array.from({ length: 300 }, (_, i) => enqueue({ payload: { echo: i } })));
    expect(responses.every((r) => r.status === 202)).toBe(true);
    const answered = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id));
    const { rows } = await db.query<{ id: string; echo: number }>(
      `SELECT id, (data->'payload'->>'echo')::int AS echo FROM pgboss.job WHERE id = ANY($1::uuid[])`,
      [answered],
    );
    expect(rows).toHaveLength(300);
    const byId = new Map(rows.map((r) => [r.id, r.echo]));
    expect(answered.map((id) => byId.get(id))).toEqual(answered.map((_, i) => i));
    expect(await countJobs(db, 'noop')).toBe(before + 300);
    const countAfter = (await observe.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    statements.push(countAfter - countBefore);
    expect(statements[0]).toBeGreaterThan(0);
    expect(statements[0]).toBeLessThan(300);
  });

  it('a pending group commit is flushed on close, so every accepted request is answered', async () => {
    const local = await startTestApi(db, { API_GROUP_COMMIT_WINDOW_MS: '50' });
    const before = await countJobs(db, 'noop');
    const pending = Array.from({ length: 20 }, () => local.request('/v1/queues/noop/tasks', { json: { payload: {} } }));
    await new Promise((r) => setTimeout(r, 5));
    await local.close();
    const statuses = (await Promise.all(pending)).map((r) => r.status);
    expect(statuses.every((s) => s === 202)).toBe(true);
    expect(await countJobs(db, 'noop')).toBe(before + 20);
  });
});
