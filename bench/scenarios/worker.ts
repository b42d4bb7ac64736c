/**
 * Worker scenarios, each against a fresh database:
 * - drain: a pre-filled backlog of no-op jobs, drained by pg-boss `work()` (its defaults, and tuned
 *   to batchSize 100 / 0.5 s polling) and by taskfleet worker processes (1 and 2 replicas, default settings);
 * - latency: idle pickup — enqueue committed → job claimed (started_on - created_on, PostgreSQL clock);
 * - priority: critical tasks' pickup while the worker is saturated by low-priority work.
 */
import { PgBoss } from 'pg-boss';
import { PRIORITIES } from '@taskfleet/core';
import { benchDatabase, machineFacts, postgresCpuSeconds, type Proc, startProcess, writeResult } from '../lib/env.ts';
import { countState, prefill, summarize, withClient } from '../lib/jobs.ts';
import { writeChart } from '../lib/report.ts';
import { barChart } from '../lib/svg.ts';
import { uuidv7 } from '../../apps/api/src/enqueue/uuid7.ts';
import { insertTasks } from '../../apps/api/src/sql/insert-tasks.ts';

export interface WorkerBenchOptions {
  backlog: number;
  baselineSeconds: number;
  latencySamples: number;
  prioritySeconds: number;
  part: 'drain' | 'latency' | 'priority';
}

type Log = (line: string) => void;

async function startWorkers(url: string, n: number, env: Record<string, string> = {}): Promise<Proc[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      startProcess('apps/worker/src/main.ts', { DATABASE_URL: url, WORKER_ID: `bench-${i + 1}`, ...env }, '/readyz'),
    ),
  );
}

/** Drain `backlog` jobs with taskfleet worker processes; jobs/s from first to last completion. */
async function drainTaskfleet(url: string, backlog: number, replicas: number, log: Log) {
  await withClient(url, (c) => c.query('TRUNCATE pgboss.job_common'));
  await prefill(url, 'noop', backlog);
  const started = performance.now();
  const cpuBefore = await postgresCpuSeconds();
  const procs = await startWorkers(url, replicas);
  let rssMax = 0;
  try {
    await withClient(url, async (c) => {
      for (;;) {
        const done = await countState(c, 'noop', 'completed');
        for (const p of procs) rssMax = Math.max(rssMax, await p.rssMb());
        if (done >= backlog) break;
        if (performance.now() - started > 300_000) throw new Error(`drain stalled at ${done}/${backlog}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    const times = await withClient(url, (c) =>
      c.query<{ first: number; last: number }>(
        `SELECT extract(epoch FROM min(started_on))::float8 AS first, extract(epoch FROM max(completed_on))::float8 AS last FROM pgboss.job WHERE name = 'noop'`,
      ),
    );
    const seconds = (times.rows[0]?.last ?? 0) - (times.rows[0]?.first ?? 0);
    const rate = Math.round(backlog / seconds);
    // PostgreSQL's CPU for the whole drain (including the workers' start and the polling above).
    const postgresCpu = Math.round(((await postgresCpuSeconds()) - cpuBefore) * 100) / 100;
    const perCore = Math.round(backlog / postgresCpu);
    log(
      `  taskfleet ×${replicas}: ${backlog} jobs in ${seconds.toFixed(2)} s → ${rate} jobs/s (max RSS ${Math.round(rssMax)} MB; PostgreSQL ${postgresCpu} CPU-s → ${perCore} jobs per PostgreSQL core-second)`,
    );
    return {
      replicas,
      jobs: backlog,
      seconds,
      jobsPerSecond: rate,
      maxRssMb: Math.round(rssMax),
      postgresCpuSeconds: postgresCpu,
      jobsPerPostgresCoreSecond: perCore,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

/** pg-boss work() over a bounded window: jobs/s completed. */
async function drainPgBossWork(
  url: string,
  backlog: number,
  seconds: number,
  options: Record<string, number> | undefined,
  label: string,
  log: Log,
) {
  await withClient(url, (c) => c.query('TRUNCATE pgboss.job_common'));
  await prefill(url, 'noop', backlog);
  const boss = new PgBoss({ connectionString: url, max: 10, supervise: false, schedule: false, migrate: false });
  boss.on('error', () => {});
  await boss.start();
  let done = 0;
  const t0 = performance.now();
  const count = async (jobs: unknown[]) => {
    done += jobs.length;
  };
  if (options) await boss.work('noop', options, count);
  else await boss.work('noop', count);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  await boss.stop({ graceful: false });
  const rate = Math.round((done / elapsed) * 100) / 100;
  log(`  pg-boss work() ${label}: ${done} jobs in ${elapsed.toFixed(1)} s → ${rate} jobs/s`);
  return { label, jobs: done, seconds: elapsed, jobsPerSecond: rate };
}

async function enqueueOne(c: import('pg').Client, priority: number, payload: object = {}): Promise<string> {
  const id = uuidv7();
  await insertTasks((t, v) => c.query(t as never, v), 'noop', [{ id, data: { payload, meta: { submitter: null } }, priority }]);
  return id;
}

async function pickupLatencies(c: import('pg').Client, ids: string[]): Promise<number[]> {
  const { rows } = await c.query<{ ms: number }>(
    `SELECT extract(epoch FROM started_on - created_on)::float8 * 1000 AS ms FROM pgboss.job WHERE id = ANY($1::uuid[]) AND started_on IS NOT NULL`,
    [ids],
  );
  return rows.map((r) => r.ms);
}

async function latency(url: string, samples: number, log: Log) {
  await withClient(url, (c) => c.query('TRUNCATE pgboss.job_common'));
  const [proc] = await startWorkers(url, 1);
  try {
    await new Promise((r) => setTimeout(r, 500));
    return await withClient(url, async (c) => {
      const ids: string[] = [];
      for (let i = 0; i < samples; i++) {
        ids.push(await enqueueOne(c, PRIORITIES.normal));
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
      }
      await new Promise((r) => setTimeout(r, 500));
      const s = summarize(await pickupLatencies(c, ids));
      log(`  idle pickup: p50 ${s.p50} ms, p95 ${s.p95} ms, p99 ${s.p99} ms (n=${s.n})`);
      return s;
    });
  } finally {
    await proc?.stop();
  }
}

async function priority(url: string, seconds: number, log: Log) {
  await withClient(url, (c) => c.query('TRUNCATE pgboss.job_common'));
  // Enough 200 ms low-priority jobs to keep 100 slots busy for the whole window and beyond.
  await prefill(url, 'noop', Math.ceil((seconds + 10) * 100 * 5), { sleepMs: 200 }, 'low');
  const [proc] = await startWorkers(url, 1);
  try {
    await new Promise((r) => setTimeout(r, 2000)); // saturated
    return await withClient(url, async (c) => {
      const ids: string[] = [];
      const until = Date.now() + seconds * 1000;
      while (Date.now() < until) {
        ids.push(await enqueueOne(c, PRIORITIES.critical));
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 1000));
      const lowWaiting = await countState(c, 'noop', 'created');
      const s = summarize(await pickupLatencies(c, ids));
      log(`  critical pickup under saturation: p50 ${s.p50} ms, p99 ${s.p99} ms (n=${s.n}; ${lowWaiting} low tasks still queued)`);
      return { ...s, lowStillQueued: lowWaiting };
    });
  } finally {
    await proc?.stop();
  }
}

export async function runWorkerBench(opts: WorkerBenchOptions, log: Log) {
  const db = await benchDatabase();
  try {
    const machine = { ...machineFacts(), postgres: db.serverVersion, database: db.embedded ? 'embedded (fsync on)' : 'DATABASE_URL' };
    const base = { scenario: opts.part, date: new Date().toISOString(), machine, options: opts };
    if (opts.part === 'drain') {
      log(`drain: ${opts.backlog} no-op jobs`);
      const baselineDefaults = await drainPgBossWork(
        db.url,
        Math.min(opts.backlog, 20_000),
        opts.baselineSeconds,
        undefined,
        'defaults',
        log,
      );
      const tuned = { batchSize: 100, pollingIntervalSeconds: 0.5 };
      const baselineTuned = await drainPgBossWork(
        db.url,
        Math.min(opts.backlog, 20_000),
        opts.baselineSeconds,
        tuned,
        'batchSize 100, polling 0.5 s',
        log,
      );
      const one = await drainTaskfleet(db.url, opts.backlog, 1, log);
      const two = await drainTaskfleet(db.url, opts.backlog, 2, log);
      const file = await writeResult('drain', { ...base, drain: { baselineDefaults, baselineTuned, taskfleet1: one, taskfleet2: two } });
      await writeChart(
        'drain',
        barChart({
          title: `drain ${opts.backlog} no-op jobs (jobs/s)`,
          yLabel: 'jobs/s',
          groups: ['work() defaults', 'work() tuned', 'taskfleet ×1', 'taskfleet ×2'],
          series: [
            { name: 'jobs/s', values: [baselineDefaults.jobsPerSecond, baselineTuned.jobsPerSecond, one.jobsPerSecond, two.jobsPerSecond] },
          ],
        }),
      );
      console.table([
        { what: 'pg-boss work() defaults', 'jobs/s': baselineDefaults.jobsPerSecond, 'vs defaults': '1' },
        {
          what: 'pg-boss work() batch 100, 0.5 s',
          'jobs/s': baselineTuned.jobsPerSecond,
          'vs defaults': (baselineTuned.jobsPerSecond / baselineDefaults.jobsPerSecond).toFixed(0),
        },
        {
          what: 'taskfleet worker ×1 (defaults)',
          'jobs/s': one.jobsPerSecond,
          'vs defaults': (one.jobsPerSecond / baselineDefaults.jobsPerSecond).toFixed(0),
        },
        {
          what: 'taskfleet worker ×2 (defaults)',
          'jobs/s': two.jobsPerSecond,
          'vs defaults': (two.jobsPerSecond / baselineDefaults.jobsPerSecond).toFixed(0),
        },
      ]);
      console.log(`targets: drain ≥ 10000 jobs/s (×1: ${one.jobsPerSecond}); worker RSS < 150 MB (${one.maxRssMb}); results: ${file}`);
    } else if (opts.part === 'latency') {
      log('latency: idle pickup');
      const idle = await latency(db.url, opts.latencySamples, log);
      const file = await writeResult('latency', { ...base, idlePickupMs: idle });
      await writeChart(
        'latency',
        barChart({
          title: 'idle pickup latency (ms)',
          yLabel: 'ms',
          groups: ['p50', 'p95', 'p99', 'max'],
          series: [{ name: 'idle', values: [idle.p50, idle.p95, idle.p99, idle.max] }],
        }),
      );
      console.log(`targets: idle pickup p50 ≤ 5 ms (${idle.p50}), p99 ≤ 25 ms (${idle.p99}); results: ${file}`);
    } else {
      log('priority: critical under low-priority saturation');
      const prio = await priority(db.url, opts.prioritySeconds, log);
      const file = await writeResult('priority', { ...base, criticalPickupUnderSaturationMs: prio });
      await writeChart(
        'priority',
        barChart({
          title: 'critical pickup with the worker saturated by low work (ms)',
          yLabel: 'ms',
          groups: ['p50', 'p95', 'p99', 'max'],
          series: [{ name: 'critical', values: [prio.p50, prio.p95, prio.p99, prio.max] }],
        }),
      );
      console.log(`targets: critical p99 ≤ 100 ms (${prio.p99}); results: ${file}`);
    }
  } finally {
    await db.stop();
  }
}
