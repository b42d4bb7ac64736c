/**
 * Overload answers at once instead of queueing without bound. A transaction holding an exclusive
 * lock on pg-boss's job table makes inserts wait, which fills the in-flight and buffer bounds.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { countJobs, startTestApi, type TestApi } from '../../../test-support/api.ts';

const db = useTestDatabase();
const open: { api?: TestApi; locker?: pg.Client }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.locker?.query('ROLLBACK').catch(() => {});
    await o.locker?.end();
    await o.api?.close();
  }
});

async function lockJobs(): Promise<pg.Client> {
  const client = new pg.Client(db.url);
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE pgboss.job_common IN EXCLUSIVE MODE');
  return client;
}

const enqueue = (api: TestApi) => api.request('/v1/queues/noop/tasks', { json: { payload: {} } });

async function expectOverloaded(res: Response, reason: RegExp) {
  expect(res.status).toBe(503);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(((await res.json()) as { detail: string }).detail).toMatch(reason);
}

describe('backpressure', () => {
  it('refuses beyond API_MAX_CONCURRENT_REQUESTS with 503 at once', async () => {
    const api = await startTestApi(db, { API_MAX_CONCURRENT_REQUESTS: '2' });
    const locker = await lockJobs();
    open.push({ api, locker });
    const stuck = [enqueue(api), enqueue(api)];
    await new Promise((r) => setTimeout(r, 50));
    await expectOverloaded(await enqueue(api), /More than 2 enqueue requests/);
    await locker.query('COMMIT');
    expect((await Promise.all(stuck)).map((r) => r.status)).toEqual([202, 202]);
  });

  it('refuses when the group-commit buffer is full', async () => {
    const api = await startTestApi(db, { API_REQUEST_QUEUE_SIZE: '1', API_GROUP_COMMIT_CONCURRENCY: '1' });
    const locker = await lockJobs();
    open.push({ api, locker });
    const inFlight = enqueue(api);
    await new Promise((r) => setTimeout(r, 50));
    const waiting = enqueue(api);
    await new Promise((r) => setTimeout(r, 20));
    await expectOverloaded(await enqueue(api), /buffer is full/);
    await locker.query('COMMIT');
    expect((await inFlight).status).toBe(202);
    expect((await waiting).status).toBe(202);
  });

  it('answers 503 for a task that waited past API_REQUEST_TIMEOUT_MS, and never writes it', async () => {
    const api = await startTestApi(db, { API_REQUEST_TIMEOUT_MS: '200', API_GROUP_COMMIT_CONCURRENCY: '1' });
    const locker = await lockJobs();
    open.push({ api, locker });
    const before = await countJobs(db, 'noop');
    const inFlight = enqueue(api);
    await new Promise((r) => setTimeout(r, 50));
    await expectOverloaded(await enqueue(api), /waited 200 ms .* not written/);
    await locker.query('COMMIT');
    expect((await inFlight).status).toBe(202);
    expect(await countJobs(db, 'noop')).toBe(before + 1);
  });

  it('sheds new tasks for a queue above its ready-depth high-water mark', async () => {
    const api = await startTestApi(db, { API_SHED_READY_DEPTH: '3' });
    open.push({ api });
    await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
    for (let i = 0; i < 4; i++) expect((await enqueue(api)).status).toBe(202);
    await api.shedder.settle('noop');
    api.shedder.shouldShed('noop'); // the refresh interval may not have passed: force one
    await new Promise((r) => setTimeout(r, 1100));
    api.shedder.shouldShed('noop');
    await api.shedder.settle('noop');
    await expectOverloaded(await enqueue(api), /more than 3 ready tasks/);
    // Other queues are not affected.
    expect((await api.request('/v1/queues/http.request/tasks', { json: { payload: { url: 'https://example.com' } } })).status).toBe(202);
  });

  it('answers 503 to enqueues and /readyz while draining', async () => {
    const api = await startTestApi(db);
    open.push({ api });
    api.draining = true;
    await expectOverloaded(await enqueue(api), /shutting down/);
    expect((await api.request('/readyz')).status).toBe(503);
  });

  it('answers 503 + Retry-After (not 500) while the database refuses connections, and recovers', async () => {
    const api = await startTestApi(db);
    open.push({ api });
    const id = ((await (await enqueue(api)).json()) as { id: string }).id;
    await db.adminQuery(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
    try {
      await db.adminQuery(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}' AND application_name = 'taskfleet-api'`,
      );
      for (const res of [await enqueue(api), await api.request(`/v1/queues/noop/tasks/${id}`), await api.request('/readyz')]) {
        expect(res.status).toBe(503);
      }
      const res = await enqueue(api);
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    } finally {
      await db.adminQuery(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    }
    expect((await enqueue(api)).status).toBe(202);
  });
});
