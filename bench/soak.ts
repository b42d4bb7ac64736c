/**
 * `npm run soak -- --minutes N [--rate R] [--quick]`: sustained mixed load on a real fleet (API + 2
 * worker processes, embedded PostgreSQL unless DATABASE_URL is set) — single and batch enqueues,
 * tasks that fail once and retry, status reads and queue listings — sampling every process's RSS and
 * the request latency per window. At the end it drains and accounts: every acknowledged task must be
 * completed. Prints and writes (bench/results[/quick]/soak.json) the drift of RSS and p99 latency
 * between the first steady window and the last. Exits 1 on a 5xx other than 503, a transport error,
 * or a task not completed after the drain.
 */
import { parseArgs } from 'node:util';
import { benchDatabase, machineFacts, type Proc, startProcess, writeResult } from './lib/env.ts';
import { summarize, withClient } from './lib/jobs.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '300' },
    window: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
if (values.quick) process.env.TASKFLEET_BENCH_QUICK = '1';
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const windowSeconds = Number(values.window ?? (minutes <= 2 ? 5 : 30));
if (!(minutes > 0) || !(rate > 0) || !(windowSeconds > 0)) {
  console.error('usage: npm run soak -- --minutes N [--rate requests-per-second] [--window seconds]');
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);

interface Window {
  t: number;
  requests: number;
  p50: number;
  p99: number;
  max: number;
  rssMb: Record<string, number>;
  /** V8 heap in use (MB) from each process's /metrics: flat heap with growing RSS is not a JS leak. */
  heapUsedMb: Record<string, number>;
  depth: number;
  /** p99 ms by request kind. */
  p99ByKind: Record<string, number>;
  /**
   * What the database's active backends were doing, sampled every 250 ms from pg_stat_activity:
   * average backends per sample by wait event (`CPU`: active, no wait event). Explains a slow window.
   */
  waits: Record<string, number>;
  /** Checkpoints that started in the window. */
  checkpoints: number;
}

/** Checkpoints since the statistics were reset (pg_stat_checkpointer from PostgreSQL 17, else pg_stat_bgwriter). */
async function checkpointCount(c: { query: (t: string) => Promise<{ rows: { n: number }[] }> }): Promise<number> {
  try {
    return (await c.query('SELECT (num_timed + num_requested)::int AS n FROM pg_stat_checkpointer')).rows[0]?.n ?? 0;
  } catch {
    return (await c.query('SELECT (checkpoints_timed + checkpoints_req)::int AS n FROM pg_stat_bgwriter')).rows[0]?.n ?? 0;
  }
}

async function heapUsed(url: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^taskfleet_nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([\d.e+]+)$/m.exec(text);
    return m ? Math.round(Number(m[1]) / 1_048_576) : 0;
  } catch {
    return 0;
  }
}

const db = await benchDatabase();
const procs: Record<string, Proc> = {};
let exitCode = 0;
try {
  procs.api = await startProcess('apps/api/src/main.ts', { DATABASE_URL: db.url, API_AUTH: 'disabled', API_RATE_LIMIT_PER_SECOND: '0' });
  for (const id of ['worker-1', 'worker-2'])
    procs[id] = await startProcess('apps/worker/src/main.ts', { DATABASE_URL: db.url, WORKER_ID: id });
  const api = procs.api.url;
  log(`${minutes} min at ~${rate} req/s, windows of ${windowSeconds} s; PostgreSQL ${db.serverVersion}${db.embedded ? ' (embedded)' : ''}`);

  const acked: string[] = [];
  const failures: string[] = [];
  const statuses: Record<number, number> = {};
  let latencies: number[] = [];
  const post = (path: string, body: unknown) =>
    fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  // The mix: what each request does, by weight.
  type Kind = [weight: number, name: string, send: () => Promise<Response>];
  const mix: Kind[] = [
    [55, 'enqueue', () => post('/v1/queues/noop/tasks', { payload: { sleepMs: 5 } })],
    [10, 'enqueue-retrying', () => post('/v1/queues/noop/tasks', { payload: { failAttempts: 1 }, priority: 'high' })],
    [10, 'batch-20', () => post('/v1/queues/noop/tasks:batch', { tasks: Array.from({ length: 20 }, () => ({ payload: {} })) })],
    [20, 'status', () => fetch(`${api}/v1/queues/noop/tasks/${acked[Math.floor(Math.random() * acked.length)]}`)],
    [5, 'queues', () => fetch(`${api}/v1/queues`)],
  ];
  const totalWeight = mix.reduce((s, [w]) => s + w, 0);
  const pick = (): Kind => {
    let r = Math.random() * totalWeight;
    for (const kind of mix) {
      r -= kind[0];
      if (r < 0) return kind;
    }
    return mix[0] as Kind;
  };
  let byKind = new Map<string, number[]>();

  async function one(): Promise<void> {
    // Status reads need a task to read: enqueue until there is one.
    const [, name, send] = acked.length ? pick() : (mix[0] as Kind);
    const started = performance.now();
    try {
      const res = await send();
      const ms = performance.now() - started;
      latencies.push(ms);
      const list = byKind.get(name) ?? [];
      list.push(ms);
      byKind.set(name, list);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const body = (await res.json().catch(() => null)) as { id?: string; results?: { id: string; status: string }[] } | null;
      if (res.status === 202 && body?.id) acked.push(body.id);
      if (res.status === 202 && body?.results) for (const r of body.results) if (r.status === 'accepted') acked.push(r.id);
      if (res.status >= 500 && res.status !== 503) failures.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    } catch (err) {
      failures.push(`transport: ${(err as Error).message}`);
    }
  }

  // Open-loop load: start requests at the target rate whatever the answers take (bounded in flight).
  const endAt = Date.now() + minutes * 60_000;
  let inFlight = 0;
  const load = (async () => {
    const tick = 10;
    let due = 0;
    while (Date.now() < endAt) {
      due += (rate * tick) / 1000;
      while (due >= 1 && inFlight < 256) {
        due--;
        inFlight++;
        void one().finally(() => inFlight--);
      }
      await new Promise((r) => setTimeout(r, tick));
    }
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
  })();

  // Wait events of the database's active backends, sampled every 250 ms (reset each window).
  let waitSamples = new Map<string, number>();
  let samples = 0;
  const sampler = withClient(db.url, async (c) => {
    while (Date.now() < endAt) {
      const { rows } = await c.query<{ w: string; n: number }>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1`,
      );
      samples++;
      for (const r of rows) waitSamples.set(r.w, (waitSamples.get(r.w) ?? 0) + r.n);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  const windows: Window[] = [];
  const started = Date.now();
  await withClient(db.url, async (c) => {
    let checkpointsBefore = await checkpointCount(c);
    while (Date.now() < endAt) {
      await new Promise((r) => setTimeout(r, Math.min(windowSeconds * 1000, Math.max(0, endAt - Date.now()))));
      const window = summarize(latencies);
      latencies = [];
      const p99ByKind = Object.fromEntries([...byKind].map(([k, v]) => [k, summarize(v).p99]));
      byKind = new Map();
      const rssMb: Record<string, number> = {};
      const heapUsedMb: Record<string, number> = {};
      for (const [name, p] of Object.entries(procs)) {
        rssMb[name] = Math.round(await p.rssMb());
        heapUsedMb[name] = await heapUsed(p.url);
      }
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop' AND state IN ('created', 'retry', 'active')`,
      );
      const waits = Object.fromEntries(
        [...waitSamples].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, Math.round((n / Math.max(1, samples)) * 100) / 100]),
      );
      waitSamples = new Map();
      samples = 0;
      const checkpointsNow = await checkpointCount(c);
      const w: Window = {
        t: Math.round((Date.now() - started) / 1000),
        requests: window.n,
        p50: window.p50,
        p99: window.p99,
        max: window.max,
        rssMb,
        heapUsedMb,
        depth: rows[0]?.n ?? 0,
        p99ByKind,
        waits,
        checkpoints: checkpointsNow - checkpointsBefore,
      };
      checkpointsBefore = checkpointsNow;
      windows.push(w);
      log(
        `t=${w.t}s ${w.requests} req  p50 ${w.p50} ms  p99 ${w.p99} ms  depth ${w.depth}  RSS ${JSON.stringify(rssMb)}  heap ${JSON.stringify(heapUsedMb)}  p99 by kind ${JSON.stringify(p99ByKind)}  waits ${JSON.stringify(waits)}${w.checkpoints ? `  checkpoints ${w.checkpoints}` : ''}`,
      );
    }
  });
  await load;
  await sampler;

  // Drain and account for every acknowledged task.
  const drainDeadline = Date.now() + 120_000;
  let unfinished = Number.POSITIVE_INFINITY;
  await withClient(db.url, async (c) => {
    while (unfinished > 0 && Date.now() < drainDeadline) {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE id = ANY($1::uuid[]) AND state <> 'completed'`,
        [acked],
      );
      unfinished = rows[0]?.n ?? 0;
      if (unfinished > 0) await new Promise((r) => setTimeout(r, 500));
    }
  });

  // Drift: the second window is the baseline (the first includes JIT warm-up and pool fills).
  const base = windows[Math.min(1, windows.length - 1)] as Window;
  const last = windows.at(-1) as Window;
  const drift = {
    baselineWindowAt: base.t,
    lastWindowAt: last.t,
    rssMb: Object.fromEntries(
      Object.keys(procs).map((k) => [k, { from: base.rssMb[k], to: last.rssMb[k], delta: (last.rssMb[k] ?? 0) - (base.rssMb[k] ?? 0) }]),
    ),
    p99Ms: { from: base.p99, to: last.p99, ratio: base.p99 > 0 ? Math.round((last.p99 / base.p99) * 100) / 100 : null },
    maxRssMb: Object.fromEntries(Object.keys(procs).map((k) => [k, Math.max(...windows.map((w) => w.rssMb[k] ?? 0))])),
    heapUsedMb: Object.fromEntries(Object.keys(procs).map((k) => [k, { from: base.heapUsedMb[k], to: last.heapUsedMb[k] }])),
  };
  const result = {
    scenario: 'soak',
    machine: machineFacts(),
    postgres: db.serverVersion,
    minutes,
    rate,
    requests: Object.values(statuses).reduce((a, b) => a + b, 0),
    statuses,
    acknowledged: acked.length,
    unfinishedAfterDrain: unfinished,
    failures: failures.slice(0, 20),
    failureCount: failures.length,
    /** Issue 16's targets: every window's p99 ≤ 100 ms; RSS < 150 MB and flat (± 15 MB) after the first minute. */
    targets: {
      windowsOverP99Limit: windows.filter((w) => w.p99 > 100).length,
      worstWindowP99: Math.max(...windows.map((w) => w.p99)),
      rssRangeAfterFirstMinuteMb: Object.fromEntries(
        Object.keys(procs).map((k) => {
          const after = windows.filter((w) => w.t > 60).map((w) => w.rssMb[k] ?? 0);
          return [k, after.length ? [Math.min(...after), Math.max(...after)] : null];
        }),
      ),
    },
    drift,
    windows,
  };
  const file = await writeResult('soak', result);
  log(
    `${result.requests} requests ${JSON.stringify(statuses)}; ${acked.length} tasks acknowledged, ${unfinished} unfinished after drain; ` +
      `p99 ${drift.p99Ms.from} → ${drift.p99Ms.to} ms; RSS ${Object.entries(drift.rssMb)
        .map(([k, v]) => `${k} ${v.from}→${v.to} MB`)
        .join(', ')}; written to ${file}`,
  );
  if (failures.length > 0 || unfinished > 0) {
    log(`FAILED: ${failures.length} failed requests (${failures.slice(0, 3).join('; ')}), ${unfinished} unfinished tasks`);
    exitCode = 1;
  }
} finally {
  await Promise.all(Object.values(procs).map((p) => p.stop()));
  await db.stop();
}
process.exit(exitCode);
