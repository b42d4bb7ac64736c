/**
 * Long-poll at scale on a real API process: 1,000 concurrent waiters (real HTTP, keep-alive
 * sockets) on 1,000 tasks, answered when a real worker completes them. Measured: each answer's
 * arrival against the task's completed_on in the database (p50/p99/max, printed), and the API's RSS
 * while it holds the waiters. Asserted with generous bounds (a loaded 2-core machine): every waiter
 * answered `ended` within 2 s of its task's completion, the API's RSS grown by < 100 MB.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { enqueue } from '../../../test-support/enqueue.ts';
import { spawnApp, stopProcess, waitReady } from '../../../test-support/processes.ts';
import { waitFor } from '../../../test-support/worker.ts';

const db = useTestDatabase();
const WAITERS = 1000;

/** RSS (as `ps` shows it, shared file pages of the node binary included) and anonymous memory, MB. */
function memoryMb(pid: number): { rss: number; anon: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(rollup.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) / 1024;
  return { rss: kb('Rss'), anon: kb('Anonymous') };
}
const mb = (m: { rss: number; anon: number }) => `${m.rss.toFixed(0)} MB (anonymous ${m.anon.toFixed(0)} MB)`;

interface Answer {
  status: number;
  outcome: string | undefined;
  body: { id: string; state: string };
  receivedAt: number;
}

function get(agent: http.Agent, url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            outcome: res.headers['x-wait-outcome'] as string | undefined,
            body: JSON.parse(text),
            receivedAt: Date.now(),
          }),
        );
      })
      .on('error', reject);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;

describe('long-poll at scale', () => {
  it(`answers ${WAITERS} waiters on one replica as their tasks complete, within bounded memory`, { timeout: 120_000 }, async () => {
    const env = { DATABASE_URL: db.url, API_AUTH: 'disabled', LOG_LEVEL: 'warn', API_LONG_POLL_MAX_WAITERS: String(WAITERS) };
    // As a replica started after another (or a restart): Node's compile cache warm, so the process
    // runs without the TypeScript stripper (scripts/lib/node-flags.ts).
    const warmUp = await spawnApp('api', env);
    await waitReady(warmUp);
    await stopProcess(warmUp);
    const api = await spawnApp('api', env);
    const agent = new http.Agent({ keepAlive: true, maxSockets: WAITERS + 10 });
    try {
      await waitReady(api);
      // Stored directly, so the API's memory below is the waiters' alone (not a 1,000-task batch's).
      const ids = await enqueue(
        db,
        'noop',
        Array.from({ length: WAITERS }, (_, i) => ({ payload: { echo: i } })),
      );
      const before = memoryMb(api.pid);

      const answers = Promise.all(ids.map((id) => get(agent, `${api.url}/v1/queues/noop/tasks/${id}?waitSeconds=60`)));
      // Every waiter has marked its task watched (it registered before doing so).
      await waitFor(
        async () =>
          (await db.query('SELECT count(*)::int AS n FROM pgboss.job WHERE blocking AND id = ANY($1)', [ids])).rows[0].n === WAITERS,
        `${WAITERS} waiters`,
        60_000,
      );
      const waiting = memoryMb(api.pid);

      // The worker in a process of its own: this process only receives the answers.
      const worker = await spawnApp('worker', { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
      let results: Answer[];
      try {
        results = await answers;
      } finally {
        await stopProcess(worker);
      }
      const after = memoryMb(api.pid);
      const { rows } = await db.query<{ id: string; done: Date }>('SELECT id, completed_on AS done FROM pgboss.job WHERE id = ANY($1)', [
        ids,
      ]);
      const doneAt = new Map(rows.map((r) => [r.id, r.done.getTime()]));
      const lags = results.map((a) => a.receivedAt - (doneAt.get(a.body.id) ?? Number.NaN)).sort((a, b) => a - b);
      console.log(
        `long-poll: ${WAITERS} waiters; answer after completed_on p50 ${pct(lags, 50)} ms, p99 ${pct(lags, 99)} ms, max ${lags.at(-1)} ms; ` +
          `API RSS ${mb(before)} idle, ${mb(waiting)} holding the waiters, ${mb(after)} after answering them`,
      );
      for (const a of results) {
        expect(a.status).toBe(200);
        expect(a.outcome).toBe('ended');
        expect(a.body.state).toBe('completed');
      }
      expect(lags.every((l) => Number.isFinite(l))).toBe(true);
      expect(lags.at(-1)).toBeLessThan(2_000);
      // What the waiters cost (the API idles at ~120 MB RSS before any, ~45 MB of it the node binary's
      // shared pages): well under 100 KB each, answers included.
      expect(Math.max(waiting.rss, after.rss) - before.rss).toBeLessThan(100);
    } finally {
      agent.destroy();
      await stopProcess(api);
    }
  });

  it('answers every waiter at once when the API is stopped (SIGTERM), and exits without waiting out the waits', {
    timeout: 60_000,
  }, async () => {
    const api = await spawnApp('api', { DATABASE_URL: db.url, API_AUTH: 'disabled', LOG_LEVEL: 'warn', API_SHUTDOWN_DELAY_MS: '500' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    try {
      await waitReady(api);
      const ids = await enqueue(
        db,
        'noop',
        Array.from({ length: 50 }, () => ({})),
      );
      const answers = Promise.all(ids.map((id) => get(agent, `${api.url}/v1/queues/noop/tasks/${id}?waitSeconds=60`)));
      await waitFor(
        async () => (await db.query('SELECT count(*)::int AS n FROM pgboss.job WHERE blocking AND id = ANY($1)', [ids])).rows[0].n === 50,
        '50 waiters',
      );
      const stoppedAt = Date.now();
      api.proc.kill('SIGTERM');
      const results = await answers;
      for (const a of results) {
        expect(a.status).toBe(200);
        expect(a.outcome).toBe('shutdown');
        expect(a.body.state).toBe('queued');
      }
      expect(await api.exited, api.output()).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(30_000);
    } finally {
      agent.destroy();
      await stopProcess(api);
    }
  });
});
