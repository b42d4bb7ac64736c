/**
 * ingest: single-task POSTs against three servers in one run — the no-database ceiling (parse JSON,
 * answer 202), the naive ingest (`boss.send` per request) and the taskfleet API (auth on, group
 * commit) — at several connection counts. Then the batch endpoint against raw `boss.insert`.
 */
import { PgBoss } from 'pg-boss';
import { createApiKey } from '@taskfleet/core';
import { type BenchDatabase, benchDatabase, machineFacts, startProcess, writeResult } from '../lib/env.ts';
import { withClient } from '../lib/jobs.ts';
import { type LoadResult, load } from '../lib/load.ts';
import { writeChart } from '../lib/report.ts';
import { barChart } from '../lib/svg.ts';

export interface IngestOptions {
  connections: number[];
  seconds: number;
  warmupSeconds: number;
  batchSeconds: number;
  batchSize: number;
  /** `single`: the three servers at each connection count; `batch`: the batch endpoint vs raw insert. */
  part: 'single' | 'batch';
}

const BODY = JSON.stringify({ payload: { echo: { order: 12345, customer: 'c-42', items: [1, 2, 3] } } });

type Log = (line: string) => void;

interface Target {
  name: string;
  script: string;
  env: Record<string, string>;
  headers: Record<string, string>;
}

/** A key with the `submit` scope, for the taskfleet API (auth on). */
function submitKey(url: string): Promise<string> {
  return withClient(url, async (c) => (await createApiKey((t, v) => c.query(t, v), { name: 'bench', scopes: ['submit'] })).key);
}

/** The three servers: no-database ceiling, naive `boss.send` per request, taskfleet API. */
function singleTargets(url: string, key: string) {
  return [
    { name: 'ceiling', script: 'bench/servers/ceiling.ts', env: {}, headers: {} },
    { name: 'naive', script: 'bench/servers/naive.ts', env: { DATABASE_URL: url }, headers: {} },
    {
      name: 'taskfleet',
      script: 'apps/api/src/main.ts',
      env: { DATABASE_URL: url, API_AUTH: 'required', API_RATE_LIMIT_PER_SECOND: '0', NODE_ENV: 'production' },
      headers: { authorization: `Bearer ${key}` },
    },
  ] as const;
}

const emptyQueue = (url: string) => withClient(url, (c) => c.query('TRUNCATE pgboss.job_common'));

/** One server: a warm-up at 64 connections, then each connection count in turn; its RSS at the end. */
async function measureTarget(target: Target, opts: IngestOptions, log: Log): Promise<{ runs: LoadResult[]; rssMb: number }> {
  const proc = await startProcess(target.script, target.env);
  try {
    log(`${target.name}: warm-up ${opts.warmupSeconds}s`);
    await load({
      url: proc.url,
      path: '/v1/queues/noop/tasks',
      body: BODY,
      connections: 64,
      seconds: opts.warmupSeconds,
      headers: target.headers,
    });
    const runs: LoadResult[] = [];
    for (const connections of opts.connections) {
      log(`${target.name}: ${connections} connections for ${opts.seconds}s`);
      const r = await load({
        url: proc.url,
        path: '/v1/queues/noop/tasks',
        body: BODY,
        connections,
        seconds: opts.seconds,
        headers: target.headers,
      });
      runs.push(r);
      log(`  → ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`);
    }
    return { runs, rssMb: Math.round(await proc.rssMb()) };
  } finally {
    await proc.stop();
  }
}

/** The taskfleet batch endpoint, 8 connections, after a 2 s warm-up. */
async function measureBatchEndpoint(target: Target, tasks: { payload: unknown }[], opts: IngestOptions, log: Log): Promise<LoadResult> {
  const api = await startProcess('apps/api/src/main.ts', target.env);
  try {
    log(`batch endpoint: ${opts.batchSize} tasks/request, 8 connections for ${opts.batchSeconds}s`);
    await load({
      url: api.url,
      path: '/v1/queues/noop/tasks:batch',
      body: JSON.stringify({ tasks }),
      connections: 8,
      seconds: 2,
      headers: target.headers,
    });
    const batch = await load({
      url: api.url,
      path: '/v1/queues/noop/tasks:batch',
      body: JSON.stringify({ tasks }),
      connections: 8,
      seconds: opts.batchSeconds,
      headers: target.headers,
    });
    log(`  → ${batch.rps * opts.batchSize} tasks/s (p99 ${batch.p99} ms per request)`);
    return batch;
  } finally {
    await api.stop();
  }
}

/** The baseline: `boss.insert` of the same rows, 8 concurrent inserters; tasks per second. */
async function measureRawInsert(url: string, tasks: { payload: unknown }[], opts: IngestOptions, log: Log): Promise<number> {
  log(`raw boss.insert: ${opts.batchSize} rows/statement, 8 concurrent for ${opts.batchSeconds}s`);
  const boss = new PgBoss({ connectionString: url, max: 10, supervise: false, schedule: false, migrate: false });
  boss.on('error', () => {});
  await boss.start();
  let inserted = 0;
  const until = Date.now() + opts.batchSeconds * 1000;
  const rows = tasks.map((t) => ({ data: { payload: t.payload, meta: { submitter: null } } }));
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < until) {
        await boss.insert('noop', rows);
        inserted += rows.length;
      }
    }),
  );
  await boss.stop({ graceful: false });
  const rawInsert = Math.round(inserted / opts.batchSeconds);
  log(`  → ${rawInsert} tasks/s`);
  return rawInsert;
}

function ingestSummary(
  opts: IngestOptions,
  db: BenchDatabase,
  results: Record<string, LoadResult[]>,
  rss: Record<string, number>,
  batch: LoadResult | undefined,
  rawInsert: number,
) {
  const at64 = (name: string) => results[name]?.find((r) => r.connections === 64);
  const tf = at64('taskfleet');
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
        }
      : null,
    rssMb: rss,
    targets: {
      vsNaive: tf && at64('naive') ? tf.rps / (at64('naive')?.rps ?? 1) : null,
      vsCeiling: tf && at64('ceiling') ? tf.rps / (at64('ceiling')?.rps ?? 1) : null,
      p99At64: tf?.p99 ?? null,
    },
  };
}

export async function ingest(opts: IngestOptions, log: Log) {
  const db = await benchDatabase();
  const results: Record<string, LoadResult[]> = { ceiling: [], naive: [], taskfleet: [] };
  const rss: Record<string, number> = {};
  try {
    const targets = singleTargets(db.url, await submitKey(db.url));
    if (opts.part === 'single') {
      for (const target of targets) {
        const { runs, rssMb } = await measureTarget(target, opts, log);
        results[target.name]?.push(...runs);
        rss[target.name] = rssMb;
        if (target.name !== 'ceiling') await emptyQueue(db.url);
      }
      return ingestSummary(opts, db, results, rss, undefined, 0);
    }

    // Batch endpoint vs raw boss.insert, both in batches of opts.batchSize.
    const tasks = Array.from({ length: opts.batchSize }, (_, i) => ({ payload: { echo: i } }));
    const batch = await measureBatchEndpoint(targets[2], tasks, opts, log);
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
  const rows = (['ceiling', 'naive', 'taskfleet'] as const).flatMap((name) =>
    (summary.single[name] ?? []).map((r) => ({
      target: name,
      conns: r.connections,
      'req/s': r.rps,
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'non-2xx': r.non2xx,
      errors: r.errors,
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
      series: (['ceiling', 'naive', 'taskfleet'] as const).map((name) => ({
        name,
        values: opts.connections.map((c) => summary.single[name]?.find((r) => r.connections === c)?.rps ?? 0),
      })),
    }),
  );
  if (summary.targets.vsNaive !== null) {
    console.log(
      `targets @64: ${summary.targets.vsNaive.toFixed(2)}× naive (≥ 8), ${((summary.targets.vsCeiling ?? 0) * 100).toFixed(0)}% of ceiling (≥ 40%), p99 ${summary.targets.p99At64} ms (≤ 50)`,
    );
  }
  console.log(`RSS MB: ${JSON.stringify(summary.rssMb)}; results: ${file}`);
}
