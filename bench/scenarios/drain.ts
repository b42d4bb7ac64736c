/**
 * drain: a backlog of no-op jobs filled just before the drain (no ANALYZE, no VACUUM — for nobody),
 * drained by taskfleet worker processes (×1 and ×2 replicas, default settings) and by the peers
 * with the settings their own docs recommend for throughput: graphile-worker (batched local queue),
 * BullMQ on its PostgreSQL backend, BullMQ on Redis. On every server `benchServers` gives (the
 * embedded one and the stock external one), each measurement repeated and reported as the median
 * with min and max; the runs of one round are interleaved so that drift hits every contender alike.
 *
 * taskfleet's time runs from the first claim to the last completion (PostgreSQL's clock); the
 * peers' from their worker's start to their last completion (wall clock) — both leave out filling.
 */
import { drainBullmqPostgres, drainBullmqRedis } from '../peers/bullmq.ts';
import type { PeerDrainResult } from '../peers/common.ts';
import { drainGraphile } from '../peers/graphile.ts';
import { updateQueueSettings } from '@taskfleet/core';
import {
  type BenchServer,
  benchServers,
  machineFacts,
  postgresCpuSeconds,
  type Proc,
  serverLabel,
  startProcess,
  writeResult,
} from '../lib/env.ts';
import { countState, prefill, withClient } from '../lib/jobs.ts';
import { writeChart } from '../lib/report.ts';
import { type Run, type Stat, statOf } from '../lib/stats.ts';
import { barChart } from '../lib/svg.ts';

export interface DrainOptions {
  /** Jobs per taskfleet and graphile-worker drain. */
  backlog: number;
  /** Jobs per BullMQ drain (its PostgreSQL backend drains ~1,500/s: a smaller backlog keeps the run short; the rate does not depend on it). */
  bullmqBacklog: number;
  repeats: number;
}

type Log = (line: string) => void;

export type { Run, Stat };
export { statOf };

/**
 * Whether the drain is over, asked the cheapest way: while ready jobs remain, one probe of the ready
 * index (no count over the table, no /metrics render in the workers — measured: scraping /metrics
 * every 100 ms cost a worker 1.4 CPU-s and 70 MB of RSS per 100,000 jobs); then the few active
 * jobs of the tail are counted.
 */
async function drained(c: import('pg').Client): Promise<boolean> {
  const ready = await c.query(
    `SELECT 1 FROM pgboss.job_common WHERE name = 'noop' AND state < 'active' AND NOT blocked ORDER BY priority DESC, created_on LIMIT 1`,
  );
  if (ready.rows.length > 0) return false;
  return (await countState(c, 'noop', 'active')) === 0;
}

/** Drain `backlog` jobs with `replicas` taskfleet worker processes on a fresh database. */
async function drainTaskfleet(server: BenchServer, backlog: number, replicas: number, log: Log, concurrency?: number): Promise<Run> {
  const db = await server.database();
  const procs: Proc[] = [];
  try {
    await prefill(db.url, 'noop', backlog);
    // A fleet-wide queue concurrency limit above the replica's slots: the cost of enforcing one.
    if (concurrency) await withClient(db.url, (c) => updateQueueSettings((t, v) => c.query(t, v), 'noop', { concurrency }));
    const cpuBefore = await postgresCpuSeconds();
    const started = performance.now();
    procs.push(
      ...(await Promise.all(
        Array.from({ length: replicas }, (_, i) =>
          startProcess('apps/worker/src/main.ts', { DATABASE_URL: db.url, WORKER_ID: `bench-${i + 1}` }, '/readyz'),
        ),
      )),
    );
    let rssMax = 0;
    await withClient(db.url, async (c) => {
      for (;;) {
        for (const p of procs) rssMax = Math.max(rssMax, await p.rssMb());
        if (await drained(c)) break;
        if (performance.now() - started > 300_000) throw new Error('drain stalled');
        await new Promise((r) => setTimeout(r, 100));
      }
      const done = await countState(c, 'noop', 'completed');
      if (done !== backlog) throw new Error(`drained, but ${done} of ${backlog} jobs completed`);
    });
    const postgresCpu = (await postgresCpuSeconds()) - cpuBefore;
    const { rows } = await withClient(db.url, (c) =>
      c.query<{ seconds: number }>(
        `SELECT extract(epoch FROM max(completed_on) - min(started_on))::float8 AS seconds FROM pgboss.job WHERE name = 'noop'`,
      ),
    );
    const seconds = rows[0]?.seconds ?? Number.NaN;
    const run = { jobsPerSecond: backlog / seconds, seconds, postgresCpuSeconds: postgresCpu, maxRssMb: rssMax };
    log(
      `  taskfleet ×${replicas}${concurrency ? ` (queue concurrency ${concurrency})` : ''} on ${serverLabel(server)}: ${Math.round(run.jobsPerSecond)} jobs/s (${seconds.toFixed(2)} s; PostgreSQL ${postgresCpu.toFixed(2)} CPU-s; max RSS ${Math.round(rssMax)} MB)`,
    );
    return run;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await db.drop();
  }
}

/** A peer on a fresh database of `server` (its own schema inside it). */
async function onFreshDatabase(server: BenchServer, fn: (url: string) => Promise<PeerDrainResult>): Promise<PeerDrainResult> {
  const db = await server.database();
  try {
    return await fn(db.url);
  } finally {
    await db.drop();
  }
}

function peerRun(r: PeerDrainResult, label: string, log: Log): Run | undefined {
  if (r.skipped) {
    log(`  ${label}: skipped — ${r.skipped}`);
    return undefined;
  }
  log(
    `  ${label}: ${Math.round(r.jobsPerSecond)} jobs/s (${r.seconds.toFixed(2)} s${r.postgresCpuSeconds === undefined ? '' : `; PostgreSQL ${r.postgresCpuSeconds.toFixed(2)} CPU-s`})`,
  );
  return {
    jobsPerSecond: r.jobsPerSecond,
    seconds: r.seconds,
    ...(r.postgresCpuSeconds === undefined ? {} : { postgresCpuSeconds: r.postgresCpuSeconds }),
  };
}

export interface ServerDrain {
  server: string;
  kind: BenchServer['kind'];
  version: string;
  taskfleet1: Stat;
  taskfleet2: Stat;
  /** ×1 with a fleet-wide queue concurrency limit of LIMITED_CONCURRENCY (more than its slots). */
  taskfleet1Limited: Stat;
  graphile: Stat;
  bullmqPostgres: Stat;
  ratios: { vsGraphile: number; vsBullmqRedis: number | null; vsBullmqPostgres: number; twoVsOne: number; limitedVsUnlimited: number };
}

/** The runs of one server, per contender, in the order they were measured. */
const LIMITED_CONCURRENCY = 200;

interface ServerRuns {
  taskfleet1: Run[];
  taskfleet2: Run[];
  limited: Run[];
  graphile: Run[];
  bullmqPostgres: Run[];
}

/** What the servers share: BullMQ on Redis (measured once) and the peers' settings as they reported them. */
interface Shared {
  redisRuns: Run[];
  redisSkipped: string | undefined;
  peerSettings: Record<string, unknown>;
}

/**
 * One round on one server, the contenders interleaved: taskfleet ×1, graphile-worker, taskfleet ×2,
 * BullMQ PostgreSQL, and (on the first server only) BullMQ Redis.
 */
async function drainRound(server: BenchServer, first: boolean, opts: DrainOptions, runs: ServerRuns, shared: Shared, log: Log) {
  const label = serverLabel(server);
  runs.taskfleet1.push(await drainTaskfleet(server, opts.backlog, 1, log));
  const g = await onFreshDatabase(server, (url) => drainGraphile(url, opts.backlog, () => {}));
  shared.peerSettings = { ...shared.peerSettings, graphile: g.settings };
  const gr = peerRun(g, `graphile-worker on ${label}`, log);
  if (gr) runs.graphile.push(gr);
  runs.taskfleet2.push(await drainTaskfleet(server, opts.backlog, 2, log));
  runs.limited.push(await drainTaskfleet(server, opts.backlog, 1, log, LIMITED_CONCURRENCY));
  const b = await onFreshDatabase(server, (url) => drainBullmqPostgres(url, opts.bullmqBacklog, () => {}));
  shared.peerSettings = { ...shared.peerSettings, bullmqPostgres: b.settings };
  const br = peerRun(b, `BullMQ PostgreSQL backend on ${label}`, log);
  if (br) runs.bullmqPostgres.push(br);
  // BullMQ on Redis does not depend on the PostgreSQL server: measured in the first server's rounds.
  if (first) {
    const r = await drainBullmqRedis(opts.backlog, () => {});
    shared.peerSettings = { ...shared.peerSettings, bullmqRedis: r.settings };
    const rr = peerRun(r, 'BullMQ Redis', log);
    if (rr) shared.redisRuns.push(rr);
    else shared.redisSkipped = r.skipped;
  }
}

/** The medians of one server's runs and taskfleet ×1's ratios to each peer. */
function serverDrain(server: BenchServer, runs: ServerRuns, redisRuns: Run[], opts: DrainOptions): ServerDrain {
  const taskfleet1 = statOf(runs.taskfleet1, opts.backlog);
  const taskfleet2 = statOf(runs.taskfleet2, opts.backlog);
  const taskfleet1Limited = statOf(runs.limited, opts.backlog);
  const graphile = statOf(runs.graphile, opts.backlog);
  const bullmqPostgres = statOf(runs.bullmqPostgres, opts.bullmqBacklog);
  const redisMedian = redisRuns.length ? statOf(redisRuns, opts.backlog).median : null;
  return {
    server: serverLabel(server),
    kind: server.kind,
    version: server.version,
    taskfleet1,
    taskfleet2,
    taskfleet1Limited,
    graphile,
    bullmqPostgres,
    ratios: {
      limitedVsUnlimited: taskfleet1Limited.median / taskfleet1.median,
      vsGraphile: taskfleet1.median / graphile.median,
      vsBullmqRedis: redisMedian ? taskfleet1.median / redisMedian : null,
      vsBullmqPostgres: taskfleet1.median / bullmqPostgres.median,
      twoVsOne: taskfleet2.median / taskfleet1.median,
    },
  };
}

/** All rounds on one server. */
async function drainServer(server: BenchServer, first: boolean, opts: DrainOptions, shared: Shared, log: Log): Promise<ServerDrain> {
  log(`drain on ${serverLabel(server)}: ${opts.backlog} no-op jobs (BullMQ ${opts.bullmqBacklog}), ${opts.repeats} rounds`);
  const runs: ServerRuns = { taskfleet1: [], taskfleet2: [], limited: [], graphile: [], bullmqPostgres: [] };
  for (let round = 1; round <= opts.repeats; round++) {
    log(` round ${round}/${opts.repeats}`);
    await drainRound(server, first, opts, runs, shared, log);
  }
  return serverDrain(server, runs, shared.redisRuns, opts);
}

function drainChart(opts: DrainOptions, results: ServerDrain[], bullmqRedis: Stat) {
  return barChart({
    title: `drain ${opts.backlog} freshly filled no-op jobs, median jobs/s`,
    yLabel: 'jobs/s',
    groups: results.map((r) => r.server),
    series: [
      { name: 'taskfleet ×1', values: results.map((r) => r.taskfleet1.median) },
      { name: 'taskfleet ×2', values: results.map((r) => r.taskfleet2.median) },
      { name: `taskfleet ×1, limit ${LIMITED_CONCURRENCY}`, values: results.map((r) => r.taskfleet1Limited.median) },
      { name: 'graphile-worker', values: results.map((r) => r.graphile.median) },
      { name: 'BullMQ PostgreSQL', values: results.map((r) => r.bullmqPostgres.median) },
      { name: 'BullMQ Redis', values: results.map(() => bullmqRedis.median) },
    ],
  });
}

/** The console report: every contender's median (min–max), then each server's ratios against their targets. */
function printDrain(results: ServerDrain[], bullmqRedis: Stat, file: string) {
  const range = (s: Stat) => (s.skipped ? `skipped: ${s.skipped}` : `${s.median} (${s.min}–${s.max})`);
  const line = (server: string, what: string, s: Stat) => ({
    server,
    what,
    'jobs/s median (min–max)': range(s),
    'PG CPU-s /100k': s.postgresCpuPer100k,
  });
  console.table(
    results
      .flatMap((r) => [
        line(r.server, 'taskfleet ×1', r.taskfleet1),
        line(r.server, 'taskfleet ×2', r.taskfleet2),
        line(r.server, `taskfleet ×1, queue concurrency ${LIMITED_CONCURRENCY}`, r.taskfleet1Limited),
        line(r.server, 'graphile-worker', r.graphile),
        line(r.server, 'BullMQ PostgreSQL', r.bullmqPostgres),
      ])
      .concat([{ server: 'Redis', what: 'BullMQ Redis', 'jobs/s median (min–max)': range(bullmqRedis), 'PG CPU-s /100k': undefined }]),
  );
  for (const r of results) {
    console.log(
      `${r.server}: taskfleet ×1 ÷ graphile-worker ${r.ratios.vsGraphile.toFixed(2)} (target ≥ 1.0), ÷ BullMQ Redis ${r.ratios.vsBullmqRedis?.toFixed(2) ?? '–'} (≥ 0.8), ÷ BullMQ PostgreSQL ${r.ratios.vsBullmqPostgres.toFixed(1)}; ×2 ÷ ×1 ${r.ratios.twoVsOne.toFixed(2)} (≥ 1.3); limited ÷ unlimited ${r.ratios.limitedVsUnlimited.toFixed(2)} (≥ 0.9); PG CPU-s per 100k ${r.taskfleet1.postgresCpuPer100k} (≤ 6); worker RSS ${r.taskfleet1.maxRssMb} MB (< 150)`,
    );
  }
  console.log(`results: ${file}`);
}

export async function runDrain(opts: DrainOptions, log: Log) {
  const servers = await benchServers(log);
  const results: ServerDrain[] = [];
  const shared: Shared = { redisRuns: [], redisSkipped: undefined, peerSettings: {} };
  try {
    for (const server of servers) results.push(await drainServer(server, server === servers[0], opts, shared, log));
  } finally {
    for (const s of servers) await s.stop();
  }
  const bullmqRedis: Stat = shared.redisRuns.length
    ? statOf(shared.redisRuns, opts.backlog)
    : { median: 0, min: 0, max: 0, runs: [], skipped: shared.redisSkipped ?? 'not run' };
  const file = await writeResult('drain', {
    scenario: 'drain',
    date: new Date().toISOString(),
    machine: machineFacts(),
    options: opts,
    peerSettings: shared.peerSettings,
    servers: results,
    bullmqRedis,
  });
  await writeChart('drain', drainChart(opts, results, bullmqRedis));
  printDrain(results, bullmqRedis, file);
}
