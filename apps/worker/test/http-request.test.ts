/** http.request against a real local HTTP server, one outcome per endpoint. */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { enqueue } from '../../../test-support/enqueue.ts';
import { startTestWorker, type TestWorker, waitFor } from '../../../test-support/worker.ts';

const db = useTestDatabase();
const SECRET = 'test-signing-secret-0123456789';
let server: Server;
let base = '';
const received: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
let flaky = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      const reply = (status: number, text = '', headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'text/plain', ...headers });
        res.end(text);
      };
      switch (req.url) {
        case '/ok':
          return reply(200, JSON.stringify({ thanks: true }), { 'content-type': 'application/json' });
        case '/big':
          return reply(200, 'x'.repeat(10_000));
        case '/flaky':
          return ++flaky === 1 ? reply(503, 'try later') : reply(204);
        case '/limited':
          return reply(429, 'slow down', { 'retry-after': '3' });
        case '/missing':
          return reply(404, 'no such hook');
        case '/redirect':
          return reply(302, '', { location: 'http://169.254.169.254/latest/meta-data' });
        case '/slow':
          return void setTimeout(() => reply(200), 10_000);
        default:
          return reply(500, 'boom');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const workers: TestWorker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(1);
});
async function worker(env: Record<string, string> = { HTTP_REQUEST_ALLOWED_HOSTS: '127.0.0.1', HTTP_REQUEST_SIGNING_SECRET: SECRET }) {
  const w = await startTestWorker(db, env);
  workers.push(w);
  return w;
}
async function job(id: string) {
  return (await db.query(`SELECT state, output, retry_count, start_after, retry_limit FROM pgboss.job WHERE id = $1`, [id])).rows[0];
}
const settled = (id: string, state: string) => async () => (await job(id))?.state === state;

describe('http.request', () => {
  it('delivers the JSON body with signature, idempotency key and trace headers; 2xx completes with an excerpt', async () => {
    await worker();
    const [id] = await enqueue(db, 'http.request', [
      { payload: { url: `${base}/ok`, body: { order: 42 }, headers: { 'x-custom': 'yes' } } },
    ]);
    await waitFor(settled(id as string, 'completed'), 'completed');
    expect((await job(id as string)).output).toEqual({
      status: 200,
      contentType: 'application/json',
      body: '{"thanks":true}',
      truncated: false,
    });
    const req = received.find((r) => r.path === '/ok');
    expect(req?.body).toBe('{"order":42}');
    expect(req?.headers).toMatchObject({
      'content-type': 'application/json',
      'idempotency-key': id,
      'x-taskfleet-task-id': id,
      'x-taskfleet-attempt': '1',
      'x-custom': 'yes',
    });
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req?.headers['x-taskfleet-signature'])) ?? [];
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${req?.body}`).digest('hex'));
  });

  it('keeps only a bounded excerpt of a large response', async () => {
    await worker();
    const [id] = await enqueue(db, 'http.request', [{ payload: { url: `${base}/big`, method: 'GET' } }]);
    await waitFor(settled(id as string, 'completed'), 'completed');
    const { output } = await job(id as string);
    expect(output.body).toHaveLength(4096);
    expect(output.truncated).toBe(true);
  });

  it('retries a 5xx (a retryable error with the status is recorded)', async () => {
    await worker();
    const [id] = await enqueue(db, 'http.request', [{ payload: { url: `${base}/flaky` }, maxAttempts: 3 }]);
    await waitFor(settled(id as string, 'retry'), 'retry after 503');
    expect((await job(id as string)).output.error).toMatchObject({ name: 'RetryableError', details: { status: 503 } });
  });

  it('honours Retry-After on 429', async () => {
    await worker();
    const [id] = await enqueue(db, 'http.request', [{ payload: { url: `${base}/limited` }, maxAttempts: 3 }]);
    await waitFor(settled(id as string, 'retry'), 'retry after 429');
    const row = await job(id as string);
    const { rows } = await db.query('SELECT now() AS now');
    expect(new Date(row.start_after).getTime() - new Date(rows[0].now).getTime()).toBeGreaterThan(1500);
  });

  it.each([
    ['/missing', /receiver answered 404/],
    ['/redirect', /302 \(redirects are not followed\)/],
  ])('fails %s permanently, without retries', async (p, message) => {
    await worker();
    const [id] = await enqueue(db, 'http.request', [{ payload: { url: `${base}${p}` }, maxAttempts: 5 }]);
    await waitFor(settled(id as string, 'failed'), 'failed');
    const row = await job(id as string);
    expect(row.retry_count).toBe(0);
    expect(row.output.error.name).toBe('PermanentError');
    expect(row.output.error.message).toMatch(message);
  });

  it('times out a slow receiver and retries', async () => {
    const w = await worker();
    const [id] = await enqueue(db, 'http.request', [{ payload: { url: `${base}/slow` }, timeoutSeconds: 1, maxAttempts: 2 }]);
    const failure = await new Promise<{ kind: string; willRetry: boolean }>((resolve) => w.worker.events.once('job:fail', resolve));
    expect(failure).toMatchObject({ kind: 'timeout', willRetry: true });
    expect(id).toBeTruthy();
  });

  it.each([
    ['loopback by IP', () => `${base}/ok`],
    ['loopback by name', () => `http://localhost:${new URL(base).port}/ok`],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data'],
    ['private network', () => 'http://10.1.2.3/hook'],
    ['IPv6 loopback', () => 'http://[::1]:9/hook'],
  ])('refuses %s by default (SSRF), without sending anything', async (_name, url) => {
    await worker({});
    const before = received.length;
    const [id] = await enqueue(db, 'http.request', [{ payload: { url: url() }, maxAttempts: 5 }]);
    await waitFor(settled(id as string, 'failed'), 'refused');
    const row = await job(id as string);
    expect(row.output.error.message).toMatch(/refusing to deliver/);
    expect(row.retry_count).toBe(0);
    expect(received.length).toBe(before);
  });
});
