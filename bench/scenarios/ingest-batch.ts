/** The batch part of the ingest scenario: the taskfleet batch endpoint against raw `boss.insert`. */
import { PgBoss } from 'pg-boss';
import { startProcess } from '../lib/env.ts';
import { loadWithCpu, type MeasuredLoad } from '../lib/load-cpu.ts';
import { load } from '../lib/load.ts';
import type { IngestOptions, Log, Target } from './ingest.ts';

export /** The taskfleet batch endpoint, 8 connections, after a 2 s warm-up; with each process's CPU per request. */
async function measureBatchEndpoint(target: Target, tasks: { payload: unknown }[], opts: IngestOptions, log: Log): Promise<MeasuredLoad> {
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
    const batch = await loadWithCpu(api, {
      url: api.url,
      path: '/v1/queues/noop/tasks:batch',
      body: JSON.stringify({ tasks }),
      connections: 8,
      seconds: opts.batchSeconds,
      headers: target.headers,
    });
    log(
      `  → ${batch.rps * opts.batchSize} tasks/s (p99 ${batch.p99} ms per request; CPU µs per task: API ${batch.cpuUs.server / opts.batchSize}, PostgreSQL ${batch.cpuUs.postgres === null ? '–' : batch.cpuUs.postgres / opts.batchSize})`,
    );
    return batch;
  } finally {
    await api.stop();
  }
}

/** The baseline: `boss.insert` of the same rows, 8 concurrent inserters; tasks per second. */
export async function measureRawInsert(url: string, tasks: { payload: unknown }[], opts: IngestOptions, log: Log): Promise<number> {
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
