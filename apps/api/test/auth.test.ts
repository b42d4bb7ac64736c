import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiKey } from '@taskfleet/core';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';

const db = useTestDatabase();
let api: TestApi;
let billing: string;
let shipping: string;
let reader: string;
let admin: string;
beforeAll(async () => {
  api = await startTestApi(db, { API_AUTH: 'required', API_KEY_CACHE_SECONDS: '0' });
  billing = await api.createKey('billing');
  shipping = await api.createKey('shipping');
  reader = await api.createKey('reader', ['read']);
  admin = await api.createKey('ops', ['admin']);
});
afterAll(() => api.close());

async function submit(key: string, body: unknown = { payload: {} }): Promise<string> {
  const res = await api.request('/v1/queues/noop/tasks', { json: body, key });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('authentication', () => {
  it('rejects a missing, malformed, forged or unknown key with 401 and WWW-Authenticate', async () => {
    for (const authorization of [
      undefined,
      'Basic abc',
      'Bearer',
      'Bearer tf_short_x',
      `Bearer ${billing.slice(0, -4)}AAAA`,
      `Bearer tf_aaaaaaaaaaaa_${'A'.repeat(43)}`,
    ]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      const res = await api.request('/v1/queues/noop/tasks', { json: { payload: {} }, headers });
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('leaves health, readiness, metrics and docs open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'])
      expect((await api.request(path)).status, path).toBe(200);
  });

  it('stops accepting a revoked key', async () => {
    const key = await api.createKey('temp');
    await submit(key);
    await revokeApiKey((t, v) => db.query(t, v), 'temp');
    expect((await api.request('/v1/queues/noop/tasks', { json: { payload: {} }, key })).status).toBe(401);
  });

  it('records which key submitted each task', async () => {
    const id = await submit(billing);
    const { rows } = await db.query(`SELECT data->'meta'->>'submitter' AS submitter FROM pgboss.job WHERE id = $1`, [id]);
    const { rows: keys } = await db.query(`SELECT id FROM taskfleet.api_keys WHERE name = 'billing'`);
    expect(rows[0].submitter).toBe(keys[0].id);
  });
});

describe('isolation between keys', () => {
  it("a key cannot read, list, cancel or retry another key's task (404, as if absent)", async () => {
    const id = await submit(billing);
    expect((await api.request(`/v1/queues/noop/tasks/${id}`, { key: billing })).status).toBe(200);
    expect((await api.request(`/v1/queues/noop/tasks/${id}`, { key: shipping })).status).toBe(404);
    expect((await api.request(`/v1/queues/noop/tasks/${id}:cancel`, { method: 'POST', key: shipping })).status).toBe(404);
    expect((await api.request(`/v1/queues/noop/tasks/${id}:retry`, { method: 'POST', key: shipping })).status).toBe(404);
    const list = (await (await api.request('/v1/queues/noop/tasks?limit=500', { key: shipping })).json()) as { tasks: { id: string }[] };
    expect(list.tasks.map((t) => t.id)).not.toContain(id);
    const own = (await (await api.request('/v1/queues/noop/tasks?limit=500', { key: billing })).json()) as { tasks: { id: string }[] };
    expect(own.tasks.map((t) => t.id)).toContain(id);
  });

  it('idempotency keys do not collide across API keys', async () => {
    const a = await submit(billing, { payload: {}, idempotencyKey: 'same' });
    const b = await submit(shipping, { payload: {}, idempotencyKey: 'same' });
    expect(a).not.toBe(b);
  });

  it('a read key sees every task but cannot submit or change one', async () => {
    const id = await submit(billing);
    expect((await api.request(`/v1/queues/noop/tasks/${id}`, { key: reader })).status).toBe(200);
    expect((await api.request('/v1/queues/noop/tasks', { json: { payload: {} }, key: reader })).status).toBe(403);
    expect((await api.request(`/v1/queues/noop/tasks/${id}:cancel`, { method: 'POST', key: reader })).status).toBe(403);
  });

  it("an admin key can cancel another key's task", async () => {
    const id = await submit(billing);
    const res = await api.request(`/v1/queues/noop/tasks/${id}:cancel`, { method: 'POST', key: admin });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { state: string }).state).toBe('cancelled');
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After once a key exceeds its rate, per key', async () => {
    const limited = await startTestApi(db, { API_AUTH: 'required', API_RATE_LIMIT_PER_SECOND: '1', API_RATE_LIMIT_BURST: '3' });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const res = await limited.request('/v1/queues/noop/tasks', { json: { payload: {} }, key: billing });
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
      }
      expect(statuses.slice(0, 3)).toEqual([202, 202, 202]);
      expect(statuses.slice(3)).toEqual([429, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      // Another key has its own bucket.
      expect((await limited.request('/v1/queues/noop/tasks', { json: { payload: {} }, key: shipping })).status).toBe(202);
    } finally {
      await limited.close();
    }
  });

  it("honours a key's own rate limit", async () => {
    const key = await api.createKey('slow', ['submit'], 1);
    const limited = await startTestApi(db, { API_AUTH: 'required', API_RATE_LIMIT_BURST: '1' });
    try {
      expect((await limited.request('/v1/queues/noop/tasks', { json: { payload: {} }, key })).status).toBe(202);
      expect((await limited.request('/v1/queues/noop/tasks', { json: { payload: {} }, key })).status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});
