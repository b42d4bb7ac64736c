/**
 * The enqueue path served by @hono/node-server, as in production: headers are read from Node's
 * request and the request id is set on Node's response before the answer exists (headers.ts), so
 * these check what `app.request()` tests cannot — the headers a real client sees.
 */
import { type RunningServer, startServer } from '@taskfleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';

const db = useTestDatabase();
let api: TestApi;
let server: RunningServer;
let key: string;
beforeAll(async () => {
  api = await startTestApi(db, { API_AUTH: 'required' });
  key = await api.createKey('node-server', ['submit', 'read']);
  server = await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'api-test' });
});
afterAll(async () => {
  await server.close(1_000);
  await api.close();
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(server.url + path, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
  });

describe('enqueue over a real HTTP server', () => {
  it('answers 202 with Location, content type and the echoed request id; stores traceparent and key', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await post('/v1/queues/noop/tasks', JSON.stringify({ payload: { echo: 'n1' } }), {
      'x-request-id': 'node-req-1',
      traceparent,
      'idempotency-key': 'node-key-1',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe('node-req-1');
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { id: string; statusUrl: string };
    expect(body.statusUrl).toBe(`${server.url}/v1/queues/noop/tasks/${body.id}`);
    expect(res.headers.get('location')).toBe(body.statusUrl);
    const { rows } = await db.query<{ data: { meta: Record<string, unknown> } }>('SELECT data FROM pgboss.job WHERE id = $1', [body.id]);
    expect(rows[0]?.data.meta).toMatchObject({ traceparent, requestId: 'node-req-1', idempotencyKey: 'node-key-1' });

    const again = await post('/v1/queues/noop/tasks', JSON.stringify({ payload: { echo: 'n1' } }), { 'idempotency-key': 'node-key-1' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(body.id);
    expect(again.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes the request id on problem responses and unknown routes too', async () => {
    const invalid = await post('/v1/queues/noop/tasks', JSON.stringify({ payload: {}, priority: 'urgent' }), {
      'x-request-id': 'node-req-2',
    });
    expect(invalid.status).toBe(422);
    expect(invalid.headers.get('content-type')).toBe('application/problem+json');
    expect(invalid.headers.get('x-request-id')).toBe('node-req-2');
    expect(((await invalid.json()) as { requestId: string }).requestId).toBe('node-req-2');

    const missing = await fetch(`${server.url}/nowhere`, { headers: { 'x-request-id': 'node-req-3' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('node-req-3');
  });

  it('reads the Authorization and Content-Type headers from the Node request', async () => {
    const noKey = await fetch(`${server.url}/v1/queues/noop/tasks`, {
      method: 'POST',
      body: '{"payload":{}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(noKey.status).toBe(401);
    const wrongType = await post('/v1/queues/noop/tasks', '{"payload":{}}', { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
  });
});
