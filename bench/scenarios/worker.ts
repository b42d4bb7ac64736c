/**
 * Worker scenarios, each against a fresh database (the drain is scenarios/drain.ts):
 * - latency: idle pickup — enqueue committed → job claimed (started_on - created_on, PostgreSQL clock);
 * - priority: critical tasks' pickup while the worker is saturated by low-priority work.
 */
import { PRIORITIES } from '@taskfleet/core';
import { benchDatabase, machineFacts, type Proc, startProcess, writeResult } from '../lib/env.ts';
import { countState, prefill, summarize, withClient } from '../lib/jobs.ts';
import { writeChart } from '../lib/report.ts';
import { barChart } from '../lib/svg.ts';
import { uuidv7 } from '@taskfleet/core';
import { insertTasks } from '@taskfleet/core';

export interface WorkerBenchOptions {
  latencySamples: number;
  prioritySeconds: number;
  part: 'latency' | 'priority';
}

type Log = (line: string) => void;

async function startWorkers(url: string, n: number, env: Record<string, string> = {}): Promise<Proc[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      startProcess('apps/worker/src/main.ts', { DATABASE_URL: url, WORKER_ID: `bench-${i + 1}`, ...env }, '/readyz'),
    ),
  );
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
    if (opts.part === 'latency') {
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
