/**
 * e2e: sustained mixed load through the API (fixed request rate, two task shapes) drained by two
 * worker processes — in/out rates and depth every second, end-to-end latency (enqueued → completed,
 * PostgreSQL clock), RSS of every process.
 */
import autocannon from 'autocannon';
import { benchDatabase, machineFacts, type Proc, startProcess, writeResult } from '../lib/env.ts';
import { summarize, withClient } from '../lib/jobs.ts';
import { serverCpu } from '../lib/server-cpu.ts';
import { writeChart } from '../lib/report.ts';
import { lineChart } from '../lib/svg.ts';

export interface E2eOptions {
  rate: number;
  seconds: number;
  drainTimeoutSeconds: number;
}

type Log = (line: string) => void;

interface Sample {
  t: number;
  accepted: number;
  completed: number;
  depth: number;
  rss: number[];
}

/** The API (auth and rate limit off) and two workers; each is added to `procs` as soon as it runs. */
async function startFleet(url: string, procs: Proc[]): Promise<Proc> {
  const api = await startProcess('apps/api/src/main.ts', { DATABASE_URL: url, API_AUTH: 'disabled', API_RATE_LIMIT_PER_SECOND: '0' });
  procs.push(api);
  for (let i = 1; i <= 2; i++)
    procs.push(await startProcess('apps/worker/src/main.ts', { DATABASE_URL: url, WORKER_ID: `e2e-${i}` }, '/readyz'));
  return api;
}

/** Every second: tasks accepted, completed and waiting (PostgreSQL's count) and each process's RSS, until stopped. */
function startSampler(url: string, procs: Proc[]) {
  const samples: Sample[] = [];
  const started = Date.now();
  let sampling = true;
  const sampler = (async () => {
    await withClient(url, async (c) => {
      while (sampling) {
        const { rows } = await c.query<{ accepted: number; completed: number; depth: number }>(`
            SELECT count(*)::int AS accepted,
                   count(*) FILTER (WHERE state = 'completed')::int AS completed,
                   count(*) FILTER (WHERE state IN ('created', 'retry', 'active'))::int AS depth
            FROM pgboss.job WHERE name = 'noop'`);
        const rss = await Promise.all(procs.map((p) => p.rssMb().catch(() => 0)));
        samples.push({ t: (Date.now() - started) / 1000, ...(rows[0] as { accepted: number; completed: number; depth: number }), rss });
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
  })();
  const stop = async () => {
    sampling = false;
    await sampler;
  };
  return { samples, stop };
}

/** The fixed-rate load: two task shapes, alternating. */
function sendLoad(url: string, opts: E2eOptions) {
  return autocannon({
    url,
    connections: 64,
    overallRate: opts.rate,
    duration: opts.seconds,
    requests: [
      {
        method: 'POST',
        path: '/v1/queues/noop/tasks',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payload: { sleepMs: 5 } }),
      },
      {
        method: 'POST',
        path: '/v1/queues/noop/tasks',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payload: { sleepMs: 20 }, priority: 'low' }),
      },
    ],
  });
}

/** Enqueued → completed of every completed task, on PostgreSQL's clock. */
function endToEndLatency(url: string) {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ ms: number }>(
      `SELECT extract(epoch FROM completed_on - created_on)::float8 * 1000 AS ms FROM pgboss.job WHERE name = 'noop' AND state = 'completed'`,
    );
    return summarize(rows.map((r) => r.ms));
  });
}

/** In and out rates between consecutive samples, with the depth at each. */
function ratesOf(samples: Sample[]) {
  return samples.slice(1).map((s, i) => {
    const prev = samples[i] as Sample;
    const dt = s.t - prev.t || 1;
    return { t: s.t, in: (s.accepted - prev.accepted) / dt, out: (s.completed - prev.completed) / dt, depth: s.depth };
  });
}

function e2eChart(opts: E2eOptions, rates: ReturnType<typeof ratesOf>) {
  return lineChart({
    title: `e2e: ${opts.rate} req/s in, 2 workers`,
    xLabel: 'seconds',
    yLabel: 'tasks/s · tasks',
    series: [
      { name: 'in (tasks/s)', points: rates.map((r) => [r.t, r.in]) },
      { name: 'out (tasks/s)', points: rates.map((r) => [r.t, r.out]) },
      { name: 'depth (tasks)', points: rates.map((r) => [r.t, r.depth]) },
    ],
  });
}

export async function runE2e(opts: E2eOptions, log: Log) {
  const db = await benchDatabase();
  const procs: Proc[] = [];
  try {
    const api = await startFleet(db.url, procs);
    const postgresCpu = await serverCpu(db.url);
    const cpuBefore = await postgresCpu();
    const { samples, stop } = startSampler(db.url, procs);
    log(`e2e: ${opts.rate} req/s for ${opts.seconds} s through the API, 2 workers draining`);
    const result = await sendLoad(api.url, opts);
    log(`  load done: ${result.requests.total} requests, ${result.non2xx} non-2xx, p99 ${result.latency.p99} ms`);
    const drainDeadline = Date.now() + opts.drainTimeoutSeconds * 1000;
    while (Date.now() < drainDeadline && (samples.at(-1)?.depth ?? 1) > 0) await new Promise((r) => setTimeout(r, 500));
    // Ingest and drain of every task at a steady rate (the sampler's probes included), before the fleet stops.
    const cpuUsPerTask = Math.round((((await postgresCpu()) - cpuBefore) * 1e6) / Math.max(1, result.requests.total));
    await stop();
    const latency = await endToEndLatency(db.url);
    const rates = ratesOf(samples);
    const maxRss = procs.map((_, i) => Math.round(Math.max(...samples.map((s) => s.rss[i] ?? 0))));
    const summary = {
      scenario: 'e2e',
      date: new Date().toISOString(),
      machine: { ...machineFacts(), postgres: db.serverVersion },
      options: opts,
      http: {
        requests: result.requests.total,
        non2xx: result.non2xx,
        errors: result.errors,
        p50: result.latency.p50,
        p99: result.latency.p99,
      },
      endToEndMs: latency,
      postgresCpuUsPerTask: cpuUsPerTask,
      maxRssMb: { api: maxRss[0], worker1: maxRss[1], worker2: maxRss[2] },
      timeline: rates,
      drained: (samples.at(-1)?.depth ?? 1) === 0,
    };
    const file = await writeResult('e2e', summary);
    await writeChart('e2e', e2eChart(opts, rates));
    console.table([
      { what: 'HTTP p99 (ms)', value: summary.http.p99 },
      { what: 'non-2xx', value: summary.http.non2xx },
      { what: 'end-to-end p50 (ms)', value: latency.p50 },
      { what: 'end-to-end p99 (ms)', value: latency.p99 },
      { what: 'max RSS api / worker1 / worker2 (MB)', value: maxRss.join(' / ') },
      { what: 'drained', value: summary.drained },
      { what: 'PostgreSQL CPU µs per task (ingest + drain)', value: cpuUsPerTask },
    ]);
    console.log(`results: ${file}`);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await db.stop();
  }
}
