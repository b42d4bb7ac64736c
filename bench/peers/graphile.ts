/**
 * Same-run peer baseline: graphile-worker draining a backlog of no-op jobs.
 *
 * Settings are the ones graphile-worker's own performance page uses for its headline figures
 * (https://worker.graphile.org/docs/performance, "Quick stats"): concurrentJobs 24, maxPoolSize 25,
 * localQueue { size: 500 }, completeJobBatchDelay 0, failJobBatchDelay 0. Option names are those of
 * graphile-worker 0.18's `GraphileConfig.WorkerOptions` (node_modules/graphile-worker/dist/index.d.ts).
 * pollInterval stays at its default (2000 ms): with a full backlog the local queue refetches as soon
 * as it runs dry, so polling is not on the drain's path.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Logger, makeWorkerUtils, run, runMigrations, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import { postgresCpuSeconds } from '../lib/env.ts';
import { FILL_BATCH, type PeerDrainResult, watchCompletions } from './common.ts';

/** The worker's settings, as on graphile-worker's performance page (see the header). */
const WORKER = {
  concurrentJobs: 24,
  maxPoolSize: 25,
  localQueue: { size: 500 },
  completeJobBatchDelay: 0,
  failJobBatchDelay: 0,
};

/**
 * Fills `jobs` no-op jobs (addJobs, FILL_BATCH per call, no ANALYZE/VACUUM), then times one runner
 * from its start until the job table is empty. graphile-worker deletes a job when it completes, so
 * the table keeps no completion timestamps: the time is the wall clock from `run()` until the
 * `job:success` count reaches `jobs` and the table then reads empty (completions are batched, so
 * the last ones are written a moment after their event). Works in a schema of its own, dropped at
 * the end.
 */
export async function drainGraphile(url: string, jobs: number, log: (l: string) => void): Promise<PeerDrainResult> {
  const schema = `graphile_worker_bench_${randomBytes(4).toString('hex')}`;
  // graphile-worker logs every job start at info level through its default console logger; keep warnings and errors.
  const logger = new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') log(`graphile ${level}: ${message}`);
  });
  const admin = new pg.Client(url);
  await admin.connect();
  try {
    await runMigrations({ connectionString: url, schema, logger });
    const utils = await makeWorkerUtils({ connectionString: url, schema, logger });
    const fillStart = performance.now();
    try {
      for (let done = 0; done < jobs; done += FILL_BATCH) {
        const n = Math.min(FILL_BATCH, jobs - done);
        await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })));
      }
    } finally {
      await utils.release();
    }
    log(`graphile: filled ${jobs} jobs in ${((performance.now() - fillStart) / 1000).toFixed(2)} s`);

    // Our own emitter, given in the preset, so that no event is missed while run() starts up.
    const events: WorkerEvents = new EventEmitter();
    const watch = watchCompletions('graphile', jobs);
    events.on('job:success', () => watch.completed());
    events.on('job:error', ({ error }) => log(`graphile job error: ${String(error)}`));
    const remaining = async () =>
      Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}._private_jobs`)).rows[0]?.n);

    const cpuBefore = await postgresCpuSeconds();
    const start = performance.now();
    const runner = await run({
      noHandleSignals: true,
      taskList: { noop: async () => {} },
      preset: { worker: { connectionString: url, schema, logger, events, ...WORKER } },
    });
    watch.start();
    try {
      await watch.done;
      while ((await remaining()) > 0) await new Promise((r) => setTimeout(r, 10));
      const seconds = (performance.now() - start) / 1000;
      const cpu = (await postgresCpuSeconds()) - cpuBefore;
      return {
        peer: 'graphile-worker@0.18.0',
        jobs,
        seconds,
        jobsPerSecond: jobs / seconds,
        postgresCpuSeconds: cpu,
        settings: { ...WORKER, pollInterval: 'default (2000 ms)', fillBatch: FILL_BATCH, schema: 'own, dropped after' },
      };
    } finally {
      watch.stop();
      await runner.stop();
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}
