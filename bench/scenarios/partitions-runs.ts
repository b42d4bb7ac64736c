/** The partitions scenario's measurements (bench/scenarios/partitions.ts says what they are). */
import path from 'node:path';
import { applyMigrations, createLogger, loadConfig, updateQueueSettings } from '@taskfleet/core';
import type pg from 'pg';
import { PgBoss } from 'pg-boss';
import { type BenchServer, type Proc, serverLabel, startProcess } from '../lib/env.ts';
import { prefill, withClient } from '../lib/jobs.ts';
import { serverCpu } from '../lib/server-cpu.ts';
import { type Run, type Stat, statOf } from '../lib/stats.ts';

export interface PartitionsOptions {
  /** Jobs queued in the busy neighbour B before the neighbour measurements. */
  neighbourBacklog: number;
  /** B's churn during them (jobs/s ingested and drained; 0: a static backlog, no B worker). */
  neighbourRate: number;
  /** Jobs of A per neighbour measurement. */
  drain: number;
  /** Neighbour rounds (each measures both layouts, in alternating order). */
  repeats: number;
  /** A's backlog in the deep measurement (0 skips it). */
  deepBacklog: number;
  warmupSeconds: number;
  seconds: number;
}

export type Log = (line: string) => void;
export type Layout = 'shared' | 'own';
type CpuReader = () => Promise<number>;

const MODULE = path.resolve(import.meta.dirname, '../tasks/partitions.ts');
const QUEUE: Record<Layout, string> = { shared: 'bench.shared', own: 'bench.own' };
const BUSY = 'bench.busy';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh database of `server` with the bench's task types synced (bench.own created with its own table). */
async function database(server: BenchServer) {
  const db = await server.database();
  const config = loadConfig({ DATABASE_URL: db.url, TASK_MODULES: MODULE, LOG_LEVEL: 'warn' });
  await applyMigrations(config, createLogger({ role: 'bench', config, destination: process.stderr }));
  const table = await withClient(
    db.url,
    async (c) => (await c.query(`SELECT table_name FROM pgboss.queue WHERE name = 'bench.own'`)).rows[0],
  );
  if (table?.table_name === 'job_common') throw new Error('bench.own was not created with a table of its own');
  return db;
}

const worker = (url: string, queue: string, id: string) =>
  startProcess('apps/worker/src/main.ts', { DATABASE_URL: url, TASK_MODULES: MODULE, WORKER_QUEUES: queue, WORKER_ID: id }, '/readyz');

/** PostgreSQL's clock, so that time windows agree with the jobs' own timestamps. */
const dbNow = (url: string) =>
  withClient(url, async (c) => (await c.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]?.now as Date);

/**
 * Whether `queue` has no job waiting or running, asked through the claim index and the running-jobs
 * index (never a scan of the table: B's million rows sit beside A's in job_common), on one open
 * connection (its backend's CPU stays in the readings).
 */
async function drained(c: pg.Client, queue: string): Promise<boolean> {
  const ready = await c.query(
    `SELECT 1 FROM pgboss.job WHERE name = $1 AND state < 'active' AND NOT blocked ORDER BY priority DESC, created_on LIMIT 1`,
    [queue],
  );
  if (ready.rows.length > 0) return false;
  return (await c.query(`SELECT 1 FROM pgboss.job WHERE name = $1 AND state = 'active' LIMIT 1`, [queue])).rows.length === 0;
}

/** B's steady churn: `rate` jobs/s inserted in tenths of a second, until stopped. */
function ingestLoop(url: string, rate: number): { stop(): Promise<void> } {
  const boss = new PgBoss({ connectionString: url, max: 2, supervise: false, schedule: false, migrate: false });
  boss.on('error', () => {});
  let running = true;
  const done = (async () => {
    await boss.start();
    const perTick = Math.max(1, Math.round(rate / 10));
    for (let next = performance.now(); running; ) {
      await boss.insert(
        BUSY,
        Array.from({ length: perTick }, () => ({ data: { payload: {}, meta: { submitter: null } } })),
      );
      next += (perTick / rate) * 1000;
      await sleep(Math.max(0, next - performance.now()));
    }
    await boss.stop({ graceful: false });
  })();
  return {
    async stop() {
      running = false;
      await done;
    },
  };
}

/** One neighbour measurement: fill A, drain it with one worker, time it on PostgreSQL's clock. */
async function drainNextToBusy(
  url: string,
  cpu: CpuReader,
  layout: Layout,
  opts: PartitionsOptions,
  round: number,
): Promise<Run & { neighbourJobsPerSecond: number }> {
  const queue = QUEUE[layout];
  const since = await dbNow(url);
  await prefill(url, queue, opts.drain);
  const cpuBefore = await cpu();
  const started = performance.now();
  const proc = await worker(url, queue, `bench-a-${layout}-${round}`);
  let postgresCpu: number;
  try {
    postgresCpu = await withClient(url, async (c) => {
      while (!(await drained(c, queue))) {
        if (performance.now() - started > 600_000) throw new Error(`drain of ${queue} stalled`);
        await sleep(100);
      }
      return (await cpu()) - cpuBefore; // before the worker's backends exit
    });
  } finally {
    await proc.stop();
  }
  const { rows } = await withClient(url, (c) =>
    c.query<{ n: number; seconds: number; first: Date; last: Date }>(
      `SELECT count(*)::int AS n, extract(epoch FROM max(completed_on) - min(started_on))::float8 AS seconds,
              min(started_on) AS first, max(completed_on) AS last
         FROM pgboss.job WHERE name = $1 AND created_on >= $2`,
      [queue, since],
    ),
  );
  const r = rows[0] as { n: number; seconds: number; first: Date; last: Date };
  if (r.n !== opts.drain) throw new Error(`${queue}: ${r.n} of ${opts.drain} jobs found after the drain`);
  const { rows: b } = await withClient(url, (c) =>
    c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'completed' AND completed_on BETWEEN $2 AND $3`,
      [BUSY, r.first, r.last],
    ),
  );
  return {
    jobsPerSecond: opts.drain / r.seconds,
    seconds: r.seconds,
    postgresCpuSeconds: postgresCpu,
    neighbourJobsPerSecond: Math.round((b[0]?.n ?? 0) / r.seconds),
  };
}

/** All neighbour rounds on one database: B filled once and kept busy, the layouts of A alternating. */
export async function neighbour(
  server: BenchServer,
  opts: PartitionsOptions,
  log: Log,
): Promise<Record<Layout, Stat> & { neighbourJobsPerSecond: Record<Layout, number[]> }> {
  const db = await database(server);
  const cpu = await serverCpu(db.url);
  const label = serverLabel(server);
  const procs: Proc[] = [];
  let ingest: { stop(): Promise<void> } | undefined;
  const runs: Record<Layout, Run[]> = { shared: [], own: [] };
  const busy: Record<Layout, number[]> = { shared: [], own: [] };
  try {
    log(
      `partitions/neighbour on ${label}: ${opts.neighbourBacklog.toLocaleString('en-US')} jobs in ${BUSY}, churn ${opts.neighbourRate}/s`,
    );
    await prefill(db.url, BUSY, opts.neighbourBacklog);
    if (opts.neighbourRate > 0) {
      const exec = (t: string, v?: unknown[]) => withClient(db.url, (c) => c.query(t, v));
      await updateQueueSettings(exec, BUSY, { rate: { limit: opts.neighbourRate, periodSeconds: 1 } });
      procs.push(await worker(db.url, BUSY, 'bench-b'));
      ingest = ingestLoop(db.url, opts.neighbourRate);
      await sleep(2000); // B reaches its pace
    }
    for (let round = 1; round <= opts.repeats; round++) {
      const order: Layout[] = round % 2 ? ['shared', 'own'] : ['own', 'shared'];
      for (const layout of order) {
        const run = await drainNextToBusy(db.url, cpu, layout, opts, round);
        runs[layout].push(run);
        busy[layout].push(run.neighbourJobsPerSecond);
        log(
          `  round ${round}, A ${layout === 'own' ? 'in its own table' : 'in job_common'}: ${Math.round(run.jobsPerSecond)} jobs/s (${run.seconds.toFixed(2)} s; PostgreSQL ${run.postgresCpuSeconds?.toFixed(2)} CPU-s; B completed ${run.neighbourJobsPerSecond}/s meanwhile)`,
        );
      }
    }
  } finally {
    await ingest?.stop();
    await Promise.all(procs.map((p) => p.stop()));
    await db.drop();
  }
  return { shared: statOf(runs.shared, opts.drain), own: statOf(runs.own, opts.drain), neighbourJobsPerSecond: busy };
}

export interface DeepRun {
  queued: number;
  /** Heap and index bytes per queued task of A's table (A alone in it), right after the fill. */
  bytesPerTask: { heap: number; indexes: number };
  jobsPerSecond: number;
  windowSeconds: number;
  postgresCpuPer100k: number;
}

/** Bytes per task of the table that holds `queue` (only that queue's rows in it: a fresh database). */
async function bytesPerTask(url: string, queue: string, tasks: number): Promise<{ heap: number; indexes: number }> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ heap: string; indexes: string }>(
      `SELECT pg_table_size(format('pgboss.%I', q.table_name)) AS heap, pg_indexes_size(format('pgboss.%I', q.table_name)) AS indexes
         FROM pgboss.queue q WHERE q.name = $1`,
      [queue],
    );
    return { heap: Math.round(Number(rows[0]?.heap) / tasks), indexes: Math.round(Number(rows[0]?.indexes) / tasks) };
  });
}

/** A alone with `deepBacklog` queued: completions per second over the window, after the warm-up. */
export async function deep(server: BenchServer, layout: Layout, opts: PartitionsOptions, log: Log): Promise<DeepRun> {
  const db = await database(server);
  const queue = QUEUE[layout];
  try {
    const serverCpuSeconds = await serverCpu(db.url);
    await prefill(db.url, queue, opts.deepBacklog);
    const bytes = await bytesPerTask(db.url, queue, opts.deepBacklog);
    const proc = await worker(db.url, queue, `bench-deep-${layout}`);
    let t0: Date;
    let t1: Date;
    let cpu: number;
    try {
      await sleep(opts.warmupSeconds * 1000);
      t0 = await dbNow(db.url);
      const cpu0 = await serverCpuSeconds();
      await sleep(opts.seconds * 1000);
      cpu = (await serverCpuSeconds()) - cpu0;
      t1 = await dbNow(db.url);
    } finally {
      await proc.stop();
    }
    const { rows } = await withClient(db.url, (c) =>
      c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'completed' AND completed_on BETWEEN $2 AND $3`,
        [queue, t0, t1],
      ),
    );
    const seconds = (t1.getTime() - t0.getTime()) / 1000;
    const n = rows[0]?.n ?? 0;
    const run = {
      queued: opts.deepBacklog,
      bytesPerTask: bytes,
      jobsPerSecond: Math.round(n / seconds),
      windowSeconds: seconds,
      postgresCpuPer100k: n ? Math.round((cpu * 100_000 * 100) / n) / 100 : Number.NaN,
    };
    log(
      `partitions/deep on ${serverLabel(server)}, ${opts.deepBacklog.toLocaleString('en-US')} queued ${layout === 'own' ? 'in its own table' : 'in job_common'}: ${run.jobsPerSecond} jobs/s (PostgreSQL ${run.postgresCpuPer100k} CPU-s per 100k; table ${bytes.heap} + indexes ${bytes.indexes} bytes per task)`,
    );
    return run;
  } finally {
    await db.drop();
  }
}
