/**
 * backlog: how taskfleet behaves with a deep queue. Measured first on an empty queue, then with
 * `backlog` tasks queued (1,000,000 by default), in one run: single-task ingest through the API
 * (64 connections), drain rate of one worker, the queue-snapshot query and a /metrics scrape.
 * Target: ingest and drain ≥ 80 % of their empty-queue rates, scrape < 100 ms.
 */
import { computeQueueStats } from '@taskfleet/core';
import { benchDatabase, machineFacts, startProcess, writeResult } from '../lib/env.ts';
import { countState, prefill, summarize, withClient } from '../lib/jobs.ts';
import { load } from '../lib/load.ts';
import { writeChart } from '../lib/report.ts';
import { barChart } from '../lib/svg.ts';

export interface BacklogOptions {
  backlog: number;
  seconds: number;
  /** Before the drain window: lets the worker reach speed (0 in quick runs, whose queues are tiny). */
  drainWarmupSeconds: number;
}

type Log = (line: string) => void;

async function ingestRate(url: string, seconds: number): Promise<{ rps: number; p99: number }> {
  const api = await startProcess('apps/api/src/main.ts', { DATABASE_URL: url, API_AUTH: 'disabled', API_RATE_LIMIT_PER_SECOND: '0' });
  try {
    await load({
      url: api.url,
      path: '/v1/queues/http.request/tasks',
      body: JSON.stringify({ payload: { url: 'https://example.com' } }),
      connections: 64,
      seconds: 2,
    });
    const r = await load({
      url: api.url,
      path: '/v1/queues/http.request/tasks',
      body: JSON.stringify({ payload: { url: 'https://example.com' } }),
      connections: 64,
      seconds,
    });
    return { rps: r.rps, p99: r.p99 };
  } finally {
    await api.stop();
  }
}

/** Completions per second of one worker over a window, after a 2 s warm-up. */
async function drainRate(url: string, seconds: number, warmupSeconds: number): Promise<number> {
  const worker = await startProcess('apps/worker/src/main.ts', { DATABASE_URL: url, WORKER_QUEUES: 'noop' }, '/readyz');
  try {
    return await withClient(url, async (c) => {
      await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
      const a = await countState(c, 'noop', 'completed');
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const b = await countState(c, 'noop', 'completed');
      return Math.round((b - a) / ((performance.now() - t0) / 1000));
    });
  } finally {
    await worker.stop();
  }
}

async function metricsCost(url: string) {
  const api = await startProcess('apps/api/src/main.ts', { DATABASE_URL: url, API_AUTH: 'disabled' });
  try {
    const query: number[] = [];
    await withClient(url, async (c) => {
      const exec = (t: string, v?: unknown[]) => c.query(t, v);
      await computeQueueStats(exec);
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await computeQueueStats(exec);
        query.push(performance.now() - t0);
      }
    });
    const scrape: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await (await fetch(`${api.url}/metrics`)).text();
      scrape.push(performance.now() - t0);
    }
    return { queryMs: summarize(query), scrapeMs: summarize(scrape) };
  } finally {
    await api.stop();
  }
}

async function measureAll(url: string, drainJobs: number, opts: BacklogOptions, log: Log, label: string) {
  const { seconds } = opts;
  await withClient(url, (c) => c.query('TRUNCATE pgboss.job_common'));
  // The drain needs work in noop: on the empty side, just enough for the window. Filled just
  // before it is measured, with no ANALYZE or VACUUM (a burst is what users see).
  await prefill(url, 'noop', drainJobs);
  log(`${label}: ${drainJobs.toLocaleString('en-US')} tasks queued`);
  const metrics = await metricsCost(url);
  log(`  snapshot query p50 ${metrics.queryMs.p50} ms, scrape p50 ${metrics.scrapeMs.p50} ms`);
  const ingest = await ingestRate(url, seconds);
  log(`  ingest ${ingest.rps} req/s (p99 ${ingest.p99} ms)`);
  const drain = await drainRate(url, seconds, opts.drainWarmupSeconds);
  log(`  drain ${drain} jobs/s`);
  return { queued: drainJobs, ingest, drain, metrics };
}

export async function runBacklog(opts: BacklogOptions, log: Log) {
  const db = await benchDatabase();
  try {
    // "Empty": a queue holding only what one drain window consumes.
    const empty = await measureAll(db.url, Math.min(opts.backlog, 150_000), opts, log, 'empty-ish queue');
    const full = await measureAll(db.url, opts.backlog, opts, log, 'deep backlog');
    const ratio = { ingest: full.ingest.rps / (empty.ingest.rps || Number.NaN), drain: full.drain / (empty.drain || Number.NaN) };
    const summary = {
      scenario: 'backlog',
      date: new Date().toISOString(),
      machine: { ...machineFacts(), postgres: db.serverVersion },
      options: opts,
      empty,
      full,
      ratio,
    };
    const file = await writeResult('backlog', summary);
    await writeChart(
      'backlog',
      barChart({
        title: `empty vs ${opts.backlog.toLocaleString('en-US')} queued`,
        yLabel: 'per second',
        groups: ['ingest req/s', 'drain jobs/s'],
        series: [
          { name: 'empty', values: [empty.ingest.rps, empty.drain] },
          { name: 'backlog', values: [full.ingest.rps, full.drain] },
        ],
      }),
    );
    console.table([
      {
        what: 'ingest req/s (64 conns)',
        empty: empty.ingest.rps,
        backlog: full.ingest.rps,
        ratio: ratio.ingest.toFixed(2),
        target: '≥ 0.80',
      },
      { what: 'drain jobs/s (1 worker)', empty: empty.drain, backlog: full.drain, ratio: ratio.drain.toFixed(2), target: '≥ 0.80' },
      { what: 'snapshot query p50 ms', empty: empty.metrics.queryMs.p50, backlog: full.metrics.queryMs.p50, ratio: '', target: '≤ 50' },
      { what: '/metrics scrape max ms', empty: empty.metrics.scrapeMs.max, backlog: full.metrics.scrapeMs.max, ratio: '', target: '< 100' },
    ]);
    console.log(`results: ${file}`);
  } finally {
    await db.stop();
  }
}
