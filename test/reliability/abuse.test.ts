/**
 * Abuse against real processes: slowloris (slow headers and slow bodies) and raw garbage on the API's
 * socket, and SSRF through `http.request` to loopback, private and metadata addresses in every
 * spelling. Key misuse (missing, forged, revoked, another key's task), oversize bodies and per-key
 * floods (429) are covered in apps/api/test/auth.test.ts and bad-input.test.ts.
 */
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test-support/database.ts';
import { enqueue } from '../../test-support/enqueue.ts';
import { type AppProcess, spawnApp, stopProcess, waitReady } from '../../test-support/processes.ts';
import { startTestWorker, waitFor } from '../../test-support/worker.ts';

const db = useTestDatabase();
let api: AppProcess;
beforeAll(async () => {
  // The Node server's request timeout is API_REQUEST_TIMEOUT_MS + 5 s: 6 s here.
  api = await spawnApp('api', { DATABASE_URL: db.url, API_AUTH: 'disabled', API_REQUEST_TIMEOUT_MS: '1000', LOG_LEVEL: 'warn' });
  await waitReady(api);
}, 60_000);
afterAll(() => stopProcess(api));

const port = () => Number(new URL(api.url).port);

/** Open a socket, write `chunks` one every `everyMs`; resolve when the server closes it (with what it said). */
function slowClient(chunks: string[], everyMs: number): Promise<{ closedAfterMs: number; answer: string; sent: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port(), '127.0.0.1');
    let answer = '';
    let sent = 0;
    const timer = setInterval(() => {
      const chunk = chunks[sent];
      if (chunk !== undefined && !socket.destroyed) {
        socket.write(chunk);
        sent++;
      }
    }, everyMs);
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, answer, sent });
    });
  });
}

async function submitOk(): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${api.url}/v1/queues/noop/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"payload":{}}',
  });
  await res.body?.cancel();
  return { status: res.status, ms: Date.now() - started };
}

describe('slowloris', () => {
  it('cuts off slow headers and slow bodies at the request timeout while serving everyone else', { timeout: 60_000 }, async () => {
    const head = 'POST /v1/queues/noop/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n';
    const slowBodies = Array.from({ length: 40 }, () => slowClient([head, ...Array.from({ length: 400 }, () => ' ')], 200));
    const slowHeaders = Array.from({ length: 40 }, () => slowClient(head.split(''), 200));
    await new Promise((r) => setTimeout(r, 1_000));
    // 80 stuck connections do not stop a normal client.
    const during = await Promise.all(Array.from({ length: 20 }, submitOk));
    expect(during.map((d) => d.status)).toEqual(Array(20).fill(202));
    expect(Math.max(...during.map((d) => d.ms))).toBeLessThan(2_000);

    const results = await Promise.all([...slowBodies, ...slowHeaders]);
    for (const r of results) {
      // Closed by the server near the 6 s request timeout, long before the client would have finished (80 s).
      expect(r.closedAfterMs).toBeLessThan(12_000);
      expect(r.sent).toBeLessThan(80);
      if (r.answer) expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
    }
    expect(api.proc.exitCode).toBeNull();
    expect((await submitOk()).status).toBe(202);
  });
});

describe('raw garbage on the socket', () => {
  it('answers 400 or closes — never crashes — for random bytes and broken request lines', { timeout: 60_000 }, async () => {
    const send = (bytes: Uint8Array) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(port(), '127.0.0.1', () => socket.end(bytes));
        let answer = '';
        socket.on('data', (d) => (answer += d.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => resolve(answer));
        socket.setTimeout(8_000, () => socket.destroy());
      });
    const enc = new TextEncoder();
    const broken = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc
        .tuple(
          fc.constantFrom('GET', 'POST', 'PUT', 'G\0T', ''),
          fc.string({ maxLength: 60 }),
          fc.constantFrom('HTTP/1.1', 'HTTP/9.9', 'HTTP/1.1\r\nContent-Length: -1', 'HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz'),
        )
        .map(([m, p, v]) => enc.encode(`${m} /${p} ${v}\r\n\r\n`)),
    );
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(broken, async (bytes) => {
        cases++;
        const answer = await send(bytes);
        if (answer) expect(answer).toMatch(/^HTTP\/1\.1 (400|404|405|408|413|415|422|431|505)/);
      }),
      { numRuns: 300, interruptAfterTimeLimit: 30_000, markInterruptAsFailure: false },
    );
    expect(cases).toBeGreaterThan(50);
    expect(api.proc.exitCode).toBeNull();
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
  });
});

describe('SSRF through http.request', () => {
  let receiver: Server;
  let hits = 0;
  beforeAll(async () => {
    receiver = createServer((_req, res) => {
      hits++;
      res.end('{}');
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => receiver.close(r)));

  it('refuses loopback, private and metadata targets in every spelling, unless allow-listed', { timeout: 60_000 }, async () => {
    const p = (receiver.address() as net.AddressInfo).port;
    const targets = [
      `http://127.0.0.1:${p}/`,
      `http://localhost:${p}/`,
      `http://127.1:${p}/`,
      `http://2130706433:${p}/`, // 127.0.0.1 as one decimal number
      `http://0x7f000001:${p}/`,
      `http://0177.0.0.1:${p}/`, // octal
      `http://[::1]:${p}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://0.0.0.0:${p}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'http://192.168.1.1/',
      'http://172.16.0.1/',
      'http://[fd00::1]/',
    ];
    const guarded = await startTestWorker(db);
    const ids = await enqueue(
      db,
      'http.request',
      targets.map((url) => ({ payload: { url }, maxAttempts: 3 })),
    );
    const outcomes = await settleAll(ids).finally(() => guarded.stop());
    for (const row of outcomes) {
      const url = targets[ids.indexOf(row.id)];
      expect(row.retry_count, url).toBe(0); // permanent: no retries against a refused address
      expect(JSON.stringify(row.output), url).toMatch(/refused|blocked|not allowed/i);
    }
    expect(hits).toBe(0);

    // Control: the same receiver is reachable once allow-listed, so the refusals above are the guard's.
    const allowing = await startTestWorker(db, { HTTP_REQUEST_ALLOWED_HOSTS: '127.0.0.1' });
    try {
      const [allowed] = await enqueue(db, 'http.request', [{ payload: { url: `http://127.0.0.1:${p}/` } }]);
      await waitFor(
        async () => (await db.query('SELECT state FROM pgboss.job WHERE id = $1', [allowed])).rows[0]?.state === 'completed',
        'allowed',
      );
    } finally {
      await allowing.stop();
    }
    expect(hits).toBe(1);
  });
});

async function settleAll(ids: string[]) {
  return waitFor(async () => {
    const { rows } = await db.query<{ id: string; state: string; retry_count: number; output: unknown }>(
      'SELECT id, state, retry_count, output FROM pgboss.job WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return rows.every((r) => r.state === 'failed') && rows;
  }, 'every SSRF target refused');
}
