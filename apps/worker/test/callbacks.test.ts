/**
 * Completion callbacks end to end: a real API takes `callback`, a real worker runs the task, the
 * trigger of migration 000013 hands the end over to a `taskfleet.callback` delivery, and the worker
 * POSTs the task view to a local receiver — once per end (completed, dead-lettered, cancelled),
 * signed, retried while the receiver is down, refused by the SSRF guard into the callback dead-letter.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestWorker, type TestWorker, waitFor } from '../../../test-support/worker.ts';

const db = useTestDatabase();
const SECRET = 'callback-signing-secret-0123456789';
const ENV = {
  HTTP_REQUEST_ALLOWED_HOSTS: '127.0.0.1',
  HTTP_REQUEST_SIGNING_SECRET: SECRET,
  API_PUBLIC_URL: 'http://api.test',
  WORKER_POLL_INTERVAL_MS: '100',
};

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

function receiver(received: Received[]): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

const received: Received[] = [];
let server: Server;
let hook = '';
let api: TestApi;
let worker: TestWorker;

beforeAll(async () => {
  server = receiver(received);
  hook = `http://127.0.0.1:${await listen(server)}/hook`;
  api = await startTestApi(db, ENV);
  worker = await startTestWorker(db, ENV);
  // Short retries for the test: 1 s, then 2 s at most, many attempts (the defaults: 5 s doubling to 15 min).
  await worker.boss.updateQueue('taskfleet.callback', { retryLimit: 30, retryDelay: 1, retryBackoff: true, retryDelayMax: 2 });
});
afterAll(async () => {
  await worker?.stop(1);
  await api?.close();
  await close(server);
});
afterEach(() => {
  received.length = 0;
});

async function submit(body: Record<string, unknown>, queue = 'noop'): Promise<string> {
  const res = await api.request(`/v1/queues/${queue}/tasks`, { json: body });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function view(id: string, queue = 'noop'): Promise<Record<string, unknown>> {
  return (await (await api.request(`/v1/queues/${queue}/tasks/${id}`)).json()) as Record<string, unknown>;
}

/** The deliveries made for a task, by state (the trigger inserts one per end). */
async function deliveries(id: string): Promise<{ state: string; retry_count: number; output: unknown }[]> {
  const { rows } = await db.query(
    `SELECT state, retry_count, output FROM pgboss.job WHERE name = 'taskfleet.callback' AND data->'payload'->>'id' = $1`,
    [id],
  );
  return rows;
}

const forTask = (id: string) => received.filter((r) => r.headers['x-taskfleet-task-id'] === id);

/** Wait for the task's delivery to complete, then check it reached the receiver exactly once. */
async function deliveredOnce(id: string): Promise<Received> {
  await waitFor(async () => (await deliveries(id)).some((d) => d.state === 'completed'), `callback of ${id} delivered`, 20_000).catch(
    async (err) => {
      throw new Error(
        `${(err as Error).message}; deliveries: ${JSON.stringify(await deliveries(id))}; task: ${JSON.stringify(await view(id))}`,
      );
    },
  );
  const got = forTask(id);
  expect(got).toHaveLength(1);
  expect(await deliveries(id)).toHaveLength(1);
  return got[0] as Received;
}

function expectSigned(r: Received): void {
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['x-taskfleet-signature'])) ?? [];
  expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${r.body}`).digest('hex'));
}

describe('completion callbacks', () => {
  it('POSTs the task view once when the task completes, signed, with task, queue and event headers', async () => {
    const id = await submit({ payload: { echo: 'done' }, callback: { url: hook } });
    const r = await deliveredOnce(id);
    expectSigned(r);
    expect(r.headers).toMatchObject({
      'content-type': 'application/json',
      'x-taskfleet-task-id': id,
      'x-taskfleet-queue': 'noop',
      'x-taskfleet-event': 'completed',
    });
    expect(r.headers['x-taskfleet-delivery-id']).toMatch(/^[0-9a-f-]{36}$/);
    // The same JSON as GET /v1/queues/{queue}/tasks/{id}.
    expect(JSON.parse(r.body)).toEqual(await view(id));
    expect(JSON.parse(r.body)).toMatchObject({ state: 'completed', output: { echo: 'done' }, callback: { url: hook } });
  });

  it('calls back once when the task is dead-lettered', async () => {
    const id = await submit({ payload: { failPermanently: true }, callback: { url: hook } });
    const r = await deliveredOnce(id);
    expectSigned(r);
    expect(r.headers['x-taskfleet-event']).toBe('dead_lettered');
    expect(JSON.parse(r.body)).toMatchObject({ id, state: 'dead_lettered', deadLetterQueue: 'noop.dead' });
    expect(JSON.parse(r.body)).toEqual(await view(id));
  });

  it('calls back once when the task is cancelled through the API', async () => {
    const id = await submit({ payload: {}, delaySeconds: 3600, callback: { url: hook } });
    expect((await api.request(`/v1/queues/noop/tasks/${id}:cancel`, { method: 'POST' })).status).toBe(200);
    const r = await deliveredOnce(id);
    expectSigned(r);
    expect(r.headers['x-taskfleet-event']).toBe('cancelled');
    expect(JSON.parse(r.body)).toMatchObject({ id, state: 'cancelled' });
  });

  it('makes no delivery for a task without a callback', async () => {
    const id = await submit({ payload: {} });
    await waitFor(async () => (await view(id)).state === 'completed', 'completed');
    // A delivery would be inserted in the completing transaction: none exists once it is completed.
    expect(await deliveries(id)).toEqual([]);
    expect((await view(id)).callback).toBeNull();
  });

  it('delivers after a receiver that was down for 10 s comes back', async () => {
    const late: Received[] = [];
    const probe = receiver(late);
    const port = await listen(probe);
    await close(probe); // down: connections are refused
    const id = await submit({ payload: {}, callback: { url: `http://127.0.0.1:${port}/late` } });
    await waitFor(async () => (await deliveries(id)).some((d) => d.retry_count >= 2), 'failed delivery attempts', 30_000);
    await new Promise((r) => setTimeout(r, 10_000 - 3_000)); // ~10 s down in all
    const back = receiver(late);
    await listen(back, port);
    try {
      await waitFor(async () => (await deliveries(id)).some((d) => d.state === 'completed'), 'delivered after recovery', 30_000);
      expect(late.filter((r) => r.headers['x-taskfleet-task-id'] === id)).toHaveLength(1);
      const [d] = await deliveries(id);
      expect(d?.retry_count).toBeGreaterThanOrEqual(3);
    } finally {
      await close(back);
    }
  }, 90_000);

  it('refuses SSRF targets as http.request does: the delivery ends in the callback dead-letter', async () => {
    const id = await submit({ payload: {}, callback: { url: 'http://169.254.169.254/latest/meta-data' } });
    const dead = async () => {
      const res = await api.request('/v1/queues/taskfleet.callback.dead/tasks?limit=100');
      const page = (await res.json()) as { tasks: { payload: { id: string }; source: { id: string } | null }[] };
      return page.tasks.find((t) => t.payload.id === id);
    };
    const copy = await waitFor(dead, 'the delivery in taskfleet.callback.dead', 20_000);
    // The dead-letter copy names the failed delivery, whose last error says why.
    const delivery = await view(String(copy.source?.id), 'taskfleet.callback');
    expect(delivery).toMatchObject({ state: 'dead_lettered', attempts: 1 });
    expect(JSON.stringify(delivery.lastError)).toMatch(/refusing to deliver to 169\.254\.169\.254/);
    const [d] = await deliveries(id);
    expect(d?.state).toBe('failed');
    expect(d?.retry_count).toBe(0); // permanent: no retries
  });
});

describe('the callback option at enqueue', () => {
  it('takes only absolute http(s) URLs, naming the field', async () => {
    const res = await api.request('/v1/queues/noop/tasks', { json: { payload: {}, callback: { url: 'ftp://example.com/x' } } });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field)).toContain('callback.url');
    const batch = await api.request('/v1/queues/noop/tasks:batch', {
      json: {
        tasks: [
          { payload: {}, callback: { url: 'not a url' } },
          { payload: {}, callback: { url: hook } },
        ],
      },
    });
    const result = (await batch.json()) as { results: { status: string; errors?: { field: string }[] }[] };
    expect(result.results[0]?.errors?.map((e) => e.field)).toContain('tasks[0].callback.url');
    expect(result.results[1]?.status).toBe('accepted');
  });

  it('does not take submissions to the internal callback queue', async () => {
    const res = await api.request('/v1/queues/taskfleet.callback/tasks', {
      json: { payload: { queue: 'noop', id: '00000000-0000-4000-8000-000000000000', state: 'completed' } },
    });
    expect(res.status).toBe(404);
  });
});
