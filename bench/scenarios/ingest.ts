/**
 * ingest: single-task POSTs against the servers of one run — the no-database ceiling (parse JSON,
 * answer 202), Hono + BullMQ `queue.add` on Redis (when one answers), the naive ingest (`boss.send`
 * per request) and the taskfleet API (auth on, group commit) — at several connection counts, with
 * the CPU each process spent per request; then a CPU profile of the taskfleet API under the same
 * load. The batch part measures the batch endpoint against raw `boss.insert`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApiKey } from '@taskfleet/core';
import { type ProfileSummary, summariseProfileDir } from '../lib/cpu-profile.ts';
import { type BenchDatabase, benchDatabase, machineFacts, type Proc, startProcess, writeResult } from '../lib/env.ts';
import { withClient } from '../lib/jobs.ts';
import { type LoadResult, load } from '../lib/load.ts';
import { loadWithCpu, type MeasuredLoad as Run } from '../lib/load-cpu.ts';
import { redisAnswers } from '../peers/bullmq.ts';
import { measureBatchEndpoint, measureRawInsert } from './ingest-batch.ts';
import { writeChart } from '../lib/report.ts';
import { barChart } from '../lib/svg.ts';

export interface IngestOptions {
  connections: number[];
  seconds: number;
  warmupSeconds: number;
  batchSeconds: number;
  batchSize: number;
  /** `single`: the servers at each connection count; `batch`: the batch endpoint vs raw insert. */
  part: 'single' | 'batch';
  /** Length of the profiled run of the taskfleet API (64 connections); 0 skips it. */
  profileSeconds: number;
}

const BODY = JSON.stringify({ payload: { echo: { order: 12345, customer: 'c-42', items: [1, 2, 3] } } });

export type Log = (line: string) => void;

export interface Target {
  name: string;
  script: string;
  env: Record<string, string>;
  headers: Record<string, string>;
}

/** A key with the `submit` scope, for the taskfleet API (auth on). */
function submitKey(url: string): Promise<string> {
  return withClient(url, async (c) => (await createApiKey((t, v) => c.query(t, v), { name: 'bench', scopes: ['submit'] })).key);
}

const TARGET_NAMES = ['ceiling', 'bullmq-redis', 'naive', 'taskfleet'] as const;

function taskfleetTarget(url: string, key: string): Target {
  return {
    name: 'taskfleet',
    script: 'apps/api/src/main.ts',
    env: { DATABASE_URL: url, API_AUTH: 'required', API_RATE_LIMIT_PER_SECOND: '0', NODE_ENV: 'production' },
    headers: { authorization: `Bearer ${key}` },
  };
}

/** The servers: no-database ceiling, BullMQ on Redis (if one answers), naive `boss.send`, taskfleet API. */
async function singleTargets(url: string, key: string, log: Log): Promise<Target[]> {
  const redis = await redisAnswers();
  if (!redis) log('no Redis on 127.0.0.1:6379: the Hono + BullMQ (Redis) baseline is skipped');
  return [
    { name: 'ceiling', script: 'bench/servers/ceiling.ts', env: {}, headers: {} },
    ...(redis ? [{ name: 'bullmq-redis', script: 'bench/servers/bullmq-redis.ts', env: {}, headers: {} }] : []),
    { name: 'naive', script: 'bench/servers/naive.ts', env: { DATABASE_URL: url }, headers: {} },
    taskfleetTarget(url, key),
  ];
}

const emptyQueue = (url: string) => withClient(url, (c) => c.query('TRUNCATE pgboss.job_common'));

/** 64 connections for the warm-up's seconds (JIT, pools, caches), not measured. */
function warmUp(proc: Proc, target: Target, opts: IngestOptions): Promise<LoadResult> {
  return load({
    url: proc.url,
    path: '/v1/queues/noop/tasks',
    body: BODY,
    connections: 64,
    seconds: opts.warmupSeconds,
    headers: target.headers,
  });
}

/** One server: a warm-up at 64 connections, then each connection count in turn; its RSS at the end. */
async function measureTarget(target: Target, opts: IngestOptions, log: Log): Promise<{ runs: Run[]; rssMb: number }> {
  const proc = await startProcess(target.script, target.env);
  try {
    log(`${target.name}: warm-up ${opts.warmupSeconds}s`);
    await warmUp(proc, target, opts);
    const runs: Run[] = [];
    for (const connections of opts.connections) {
      log(`${target.name}: ${connections} connections for ${opts.seconds}s`);
      const r = await loadWithCpu(proc, {
        url: proc.url,
        path: '/v1/queues/noop/tasks',
        body: BODY,
        connections,
        seconds: opts.seconds,
        headers: target.headers,
      });
      runs.push(r);
      log(
        `  → ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}; CPU µs/request: server ${r.cpuUs.server}, postgres ${r.cpuUs.postgres}, autocannon ${r.cpuUs.loadGenerator}`,
      );
    }
    return { runs, rssMb: Math.round(await proc.rssMb()) };
  } finally {
    await proc.stop();
  }
}

/**
 * A CPU profile of a server under 64 connections (`node --cpu-prof`, written when it exits), after
 * the same warm-up: where a request's CPU goes, by function and by package.
 */
async function profileTarget(target: Target, opts: IngestOptions, log: Log): Promise<ProfileSummary> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'taskfleet-cpuprof-'));
  try {
    const proc = await startProcess(target.script, target.env, '/readyz', ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    try {
      await warmUp(proc, target, opts);
      log(`${target.name}: profiled run, 64 connections for ${opts.profileSeconds}s`);
      const r = await load({
        url: proc.url,
        path: '/v1/queues/noop/tasks',
        body: BODY,
        connections: 64,
        seconds: opts.profileSeconds,
        headers: target.headers,
      });
      log(`  → ${r.rps} req/s under the profiler`);
    } finally {
      await proc.stop();
    }
    return await summariseProfileDir(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function ingestSummary(
  opts: IngestOptions,
  db: BenchDatabase,
  results: Record<string, Run[]>,
  rss: Record<string, number>,
  batch: Run | undefined,
  rawInsert: number,
  profile: ProfileSummary | null = null,
) {
  const at = (name: string, connections: number) => results[name]?.find((r) => r.connections === connections);
  const at64 = (name: string) => at(name, 64);
  const tf = at64('taskfleet');
  const tf256 = at('taskfleet', 256);
  const bullmq = at64('bullmq-redis');
  return {
    scenario: opts.part === 'single' ? 'ingest' : 'ingest-batch',
    date: new Date().toISOString(),
    machine: { ...machineFacts(), postgres: db.serverVersion, database: db.embedded ? 'embedded (fsync on)' : 'DATABASE_URL' },
    options: opts,
    single: results,
    batch: batch
      ? {
          tasksPerSecond: batch.rps * opts.batchSize,
          batchSize: opts.batchSize,
          p99: batch.p99,
          non2xx: batch.non2xx,
          rawInsertTasksPerSecond: rawInsert,
          // CPU per task (per request ÷ batch size); PostgreSQL null when one of its processes exited meanwhile
          cpuUsPerTask: {
            api: batch.cpuUs.server / opts.batchSize,
            postgres: batch.cpuUs.postgres === null ? null : batch.cpuUs.postgres / opts.batchSize,
          },
        }
      : null,
    rssMb: rss,
    profile,
    targets: {
      vsNaive: tf && at64('naive') ? tf.rps / (at64('naive')?.rps ?? 1) : null,
      vsCeiling: tf && at64('ceiling') ? tf.rps / (at64('ceiling')?.rps ?? 1) : null,
      vsBullmqRedis: tf && bullmq ? tf.rps / bullmq.rps : null,
      p99At64: tf?.p99 ?? null,
      p99At256: tf256?.p99 ?? null,
      failuresAt256: tf256 ? tf256.errors + tf256.non2xx + tf256.timeouts : null,
    },
  };
}

export async function ingest(opts: IngestOptions, log: Log) {
  const db = await benchDatabase();
  const results: Record<string, Run[]> = {};
  const rss: Record<string, number> = {};
  try {
    const key = await submitKey(db.url);
    if (opts.part === 'single') {
      for (const target of await singleTargets(db.url, key, log)) {
        const { runs, rssMb } = await measureTarget(target, opts, log);
        results[target.name] = runs;
        rss[target.name] = rssMb;
        await emptyQueue(db.url);
      }
      const profile = opts.profileSeconds > 0 ? await profileTarget(taskfleetTarget(db.url, key), opts, log) : null;
      await emptyQueue(db.url);
      return ingestSummary(opts, db, results, rss, undefined, 0, profile);
    }

    // Batch endpoint vs raw boss.insert, both in batches of opts.batchSize.
    const tasks = Array.from({ length: opts.batchSize }, (_, i) => ({ payload: { echo: i } }));
    const batch = await measureBatchEndpoint(taskfleetTarget(db.url, key), tasks, opts, log);
    await emptyQueue(db.url);
    const rawInsert = await measureRawInsert(db.url, tasks, opts, log);
    return ingestSummary(opts, db, results, rss, batch, rawInsert);
  } finally {
    await db.stop();
  }
}

export async function runIngest(opts: IngestOptions, log: Log) {
  const summary = await ingest(opts, log);
  const file = await writeResult(summary.scenario, summary);
  if (summary.batch) {
    console.log(
      `batch endpoint: ${summary.batch.tasksPerSecond} tasks/s (raw boss.insert same run: ${summary.batch.rawInsertTasksPerSecond} tasks/s; target ≥ 40000)`,
    );
    await writeChart(
      'ingest-batch',
      barChart({
        title: `batch ingest, ${opts.batchSize} tasks per request (tasks/s)`,
        yLabel: 'tasks/s',
        groups: ['raw boss.insert', 'taskfleet batch endpoint'],
        series: [{ name: 'tasks/s', values: [summary.batch.rawInsertTasksPerSecond, summary.batch.tasksPerSecond] }],
      }),
    );
    console.log(`results: ${file}`);
    return;
  }
  const rows = TARGET_NAMES.flatMap((name) =>
    (summary.single[name] ?? []).map((r) => ({
      target: name,
      conns: r.connections,
      'req/s': r.rps,
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'non-2xx': r.non2xx,
      errors: r.errors,
      'server µs/req': r.cpuUs.server,
      'pg µs/req': r.cpuUs.postgres,
      'vs naive': summary.single.naive?.find((n) => n.connections === r.connections)?.rps
        ? (r.rps / (summary.single.naive.find((n) => n.connections === r.connections)?.rps ?? 1)).toFixed(2)
        : '',
      'vs ceiling': summary.single.ceiling?.find((n) => n.connections === r.connections)?.rps
        ? (r.rps / (summary.single.ceiling.find((n) => n.connections === r.connections)?.rps ?? 1)).toFixed(2)
        : '',
    })),
  );
  console.table(rows);
  await writeChart(
    'ingest',
    barChart({
      title: 'single-task ingest (req/s) by connections',
      yLabel: 'requests/s',
      groups: opts.connections.map(String),
      series: TARGET_NAMES.filter((name) => summary.single[name]).map((name) => ({
        name,
        values: opts.connections.map((c) => summary.single[name]?.find((r) => r.connections === c)?.rps ?? 0),
      })),
    }),
  );
  const t = summary.targets;
  if (t.vsNaive !== null) {
    console.log(
      `targets @64: ${t.vsNaive.toFixed(2)}× naive (≥ 8), ${((t.vsCeiling ?? 0) * 100).toFixed(0)}% of ceiling (≥ 40%), ${t.vsBullmqRedis?.toFixed(2) ?? '–'}× BullMQ-Redis (≥ 0.8), p99 ${t.p99At64} ms (≤ 20); @256: p99 ${t.p99At256} ms (≤ 100), failures ${t.failuresAt256}`,
    );
  }
  if (summary.profile) {
    console.log(
      `API CPU profile under 64 connections (self time, % of busy): ${summary.profile.byArea
        .slice(0, 6)
        .map((a) => `${a.area} ${a.selfPct}`)
        .join(', ')}`,
    );
  }
  console.log(`RSS MB: ${JSON.stringify(summary.rssMb)}; results: ${file}`);
}
