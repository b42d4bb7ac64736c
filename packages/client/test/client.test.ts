/**
 * The client against a real API server (real PostgreSQL): typed enqueue, status, listing, cancel,
 * retry, batch, queues, whoami; problem+json errors as TaskfleetError; 429/503 retried after
 * Retry-After; and every route it calls exists in the API's OpenAPI document with that method.
 */
import { startServer } from '@taskfleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../../apps/api/src/openapi.ts';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { CLIENT_ROUTES, createClient, TaskfleetError } from '../src/index.ts';

const db = useTestDatabase();
let api: TestApi;
let server: Awaited<ReturnType<typeof startServer>>;
let submitKey = '';
let adminKey = '';
beforeAll(async () => {
  api = await startTestApi(db, { API_AUTH: 'required', API_RATE_LIMIT_BURST: '2' });
  server = await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'client-test-api' });
  submitKey = await api.createKey('client-submit', ['submit']);
  adminKey = await api.createKey('client-admin', ['admin', 'submit', 'read']);
});
afterAll(async () => {
  await server.close(1_000);
  await api.close();
});

describe('@taskfleet/client', () => {
  it('calls only routes the OpenAPI document declares', () => {
    const doc = buildOpenApi() as { paths: Record<string, Record<string, unknown>> };
    for (const [name, [method, template]] of Object.entries(CLIENT_ROUTES)) {
      // Enqueue paths are declared per task type.
      const concrete =
        template.includes('{queue}/tasks') && method === 'post' && !template.includes('{id}')
          ? template.replace('{queue}', 'noop')
          : template;
      expect(doc.paths[concrete]?.[method], `${name}: ${method.toUpperCase()} ${concrete}`).toBeDefined();
    }
  });

  it('enqueues typed tasks and follows them', async () => {
    const client = createClient({ baseUrl: server.url, apiKey: submitKey });
    const task = await client.enqueue('noop', { echo: { n: 1 } }, { priority: 'high', delaySeconds: 600 });
    expect(task).toMatchObject({ queue: 'noop', state: 'scheduled' });
    expect(await client.get('noop', task.id)).toMatchObject({ id: task.id, priority: 'high', payload: { echo: { n: 1 } } });
    const hooked = await client.enqueue('noop', {}, { delaySeconds: 600, callback: { url: 'https://example.com/done' } });
    expect(await client.get('noop', hooked.id)).toMatchObject({ callback: { url: 'https://example.com/done' }, progress: null });
    const again = await client.enqueue('noop', { echo: { n: 1 } }, { idempotencyKey: 'same-key' });
    expect((await client.enqueue('noop', { echo: { n: 1 } }, { idempotencyKey: 'same-key' })).id).toBe(again.id);
    const list = await client.list('noop', { state: ['scheduled'], limit: 10 });
    expect(list.tasks.map((t) => t.id)).toContain(task.id);
    expect((await client.cancel('noop', task.id)).state).toBe('cancelled');
    expect((await client.retry('noop', task.id)).state).not.toBe('cancelled');
    const batch = await client.enqueueBatch('http.request', [
      { payload: { url: 'https://example.com/hook' } },
      { payload: { url: 'https://example.com/b' } },
    ]);
    expect(batch.accepted).toBe(2);
    expect(await client.whoami()).toEqual({ name: 'client-submit', scopes: ['submit'] });
  });

  it('reads the fleet with a read or admin key', async () => {
    const admin = createClient({ baseUrl: server.url, apiKey: adminKey });
    expect((await admin.queues()).map((q) => q.name)).toContain('noop');
    expect((await admin.queue('noop')).kind).toBe('tasks');
    expect((await admin.workers()).totals.replicas).toBe(0);
    expect(await admin.redrive('noop')).toMatchObject({ queue: 'noop', moved: 0 });
  });

  it('throws TaskfleetError carrying the problem', async () => {
    const client = createClient({ baseUrl: server.url, apiKey: submitKey });
    const bad = await client.enqueue('noop', { sleepMs: -1 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(TaskfleetError);
    expect((bad as TaskfleetError).status).toBe(422);
    expect((bad as TaskfleetError).problem?.errors?.[0]?.field).toBe('payload.sleepMs');
    const anonymous = createClient({ baseUrl: server.url });
    expect(await anonymous.queues().catch((e: TaskfleetError) => e.status)).toBe(401);
    const nowhere = createClient({ baseUrl: 'http://127.0.0.1:1', maxAttempts: 2, maxRetryDelayMs: 10 });
    expect(await nowhere.queues().catch((e: TaskfleetError) => e.status)).toBe(0);
  });

  it('retries 429 after Retry-After and succeeds', async () => {
    const limited = await api.createKey('client-limited', ['submit'], 1);
    // 1 request/s with a burst of 2: five at once get 429s, which the client waits out.
    let limitedAnswers = 0;
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 429) limitedAnswers++;
      return res;
    };
    const client = createClient({ baseUrl: server.url, apiKey: limited, maxAttempts: 6, fetch: counting });
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 5 }, () => client.enqueue('noop', {}).then((t) => t.state)));
    expect(results.every((s) => s === 'queued')).toBe(true);
    expect(limitedAnswers).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
