/**
 * ingest: single-task POSTs against three servers in one run — the no-database ceiling (parse JSON,
 * answer 202), the naive ingest (`boss.send` per request) and the taskfleet API (auth on, group
 * commit) — at several connection counts. Then the batch endpoint against raw `boss.insert`.
 */
import { PgBoss } from 'pg-boss';
import { createApiKey } from '@taskfleet/core';
import { benchDatabase, machineFacts, startProcess, writeResult } from '../lib/env.ts';
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

export async function ingest(opts: IngestOptions, log: (line: string) => void) {
  const db = await benchDatabase();
  const results: Record<string, LoadResult[]> = { ceiling: [], naive: [], taskfleet: [] };
  const rss: Record<string, number> = {};
  try {
    const key = await withClient(
      db.url,
      async (c) => (await createApiKey((t, v) => c.query(t, v), { name: 'bench', scopes: ['submit'] })).key,
    );
    const targets = [
      { name: 'ceiling', script: 'bench/servers/ceiling.ts', env: {}, headers: {} },
      { name: 'naive', script: 'bench/servers/naive.ts', env: { DATABASE_URL: db.url }, headers: {} },
      {
        name: 'taskfleet',
        script: 'apps/api/src/main.ts',
        env: { DATABASE_URL: db.url, API_AUTH: 'required', API_RATE_LIMIT_PER_SECOND: '0', NODE_ENV: 'production' },
        headers: { authorization: `Bearer ${key}` },
      },
    ] as const;
    for (const target of opts.part === 'single' ? targets : []) {
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
          results[target.name]?.push(r);
          log(`  → ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`);
        }
        rss[target.name] = Math.round(await proc.rssMb());
      } finally {
        await proc.stop();
      }
      if (target.name !== 'ceiling') await withClient(db.url, (c) => c.query('TRUNCATE pgboss.job_common'));
    }

    // Batch endpoint vs raw boss.insert, both in batches of opts.batchSize.
    const tasks = Array.from({ length: opts.batchSize }, (_, i) => ({ payload: { echo: i } }));
    if (opts.part === 'single') return finish(undefined, 0);
    const api = await startProcess('apps/api/src/main.ts', targets[2].env);
    let batch: LoadResult;
    try {
      log(`batch endpoint: ${opts.batchSize} tasks/request, 8 connections for ${opts.batchSeconds}s`);
      await load({
        url: api.url,
        path: '/v1/queues/noop/tasks:batch',
        body: JSON.stringify({ tasks }),
        connections: 8,
        seconds: 2,
        headers: targets[2].headers,
      });
      batch = await load({
        url: api.url,
        path: '/v1/queues/noop/tasks:batch',
        body: JSON.stringify({ tasks }),
        connections: 8,
        seconds: opts.batchSeconds,
        headers: targets[2].headers,
      });
      log(`  → ${batch.rps * opts.batchSize} tasks/s (p99 ${batch.p99} ms per request)`);
    } finally {
      await api.stop();
    }
    await withClient(db.url, (c) => c.query('TRUNCATE pgboss.job_common'));
    log(`raw boss.insert: ${opts.batchSize} rows/statement, 8 concurrent for ${opts.batchSeconds}s`);
    const boss = new PgBoss({ connectionString: db.url, max: 10, supervise: false, schedule: false, migrate: false });
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
    return finish(batch, rawInsert);
  } finally {
    await db.stop();
  }

  function finish(batch: LoadResult | undefined, rawInsert: number) {
    const at64 = (name: string) => results[name]?.find((r) => r.connections === 64);
    const tf = at64('taskfleet');
    const summary = {
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
    return summary;
  }
}

export async function runIngest(opts: IngestOptions, log: (line: string) => void) {
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
