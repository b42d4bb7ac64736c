/**
 * groups: what a claim costs when one tenant's big backlog is at its groupConcurrency and another
 * tenant's few tasks wait behind it — the case per-tenant fairness exists for. A fresh database
 * (embedded, or DATABASE_URL; `npm run bench` then repeats it on the stock server) with `backlog` queued tasks of group A (10 of them running: A is at its
 * limit of 10) and 10 of group B; then, repeated, one claim of 10 that must return B's ten:
 * - taskfleet's claim (`complete_and_claim` → `pick_grouped`: one probe per group);
 * - pg-boss 12.35's own `fetch({ groupConcurrency })` on the same rows (filters candidates in
 *   queue order, so it reads past A's queued tasks);
 * - for scale, taskfleet's claim of 10 from an unlimited queue of the same depth.
 * After each claim the ten are put back, so every repetition sees the same rows.
 */
import {
  claimJobs,
  createBoss,
  createLogger,
  executorOf,
  insertTasks,
  loadConfig,
  startBoss,
  updateQueueSettings,
  uuidv7,
} from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { benchDatabase, writeResult } from '../lib/env.ts';
import { summarize, withClient } from '../lib/jobs.ts';

export interface GroupsOptions {
  backlog: number;
  repeats: number;
}

type Log = (line: string) => void;

async function fill(boss: PgBoss, backlog: number): Promise<string[]> {
  const exec = executorOf(boss);
  for (let i = 0; i < backlog; i += 5_000) {
    const n = Math.min(5_000, backlog - i);
    await insertTasks(
      exec,
      'noop',
      Array.from({ length: n }, () => ({ id: uuidv7(), data: {}, group: { id: 'tenant-a' } })),
    );
  }
  // A at its limit: ten of its tasks running.
  await updateQueueSettings(exec, 'noop', { groupConcurrency: 10 });
  const { claimed } = await claimJobs(exec, 'noop', 10);
  if (claimed.length !== 10) throw new Error(`expected 10 of A running, got ${claimed.length}`);
  const b = Array.from({ length: 10 }, () => ({ id: uuidv7(), data: {}, group: { id: 'tenant-b' } }));
  await insertTasks(exec, 'noop', b);
  return b.map((r) => r.id);
}

/** Time `claim` (ms) `repeats` times; after each, B's ten go back to the queue. */
async function timeClaims(
  url: string,
  repeats: number,
  claim: () => Promise<string[]>,
  expectIds: string[] | undefined,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const ids = await claim();
    times.push(performance.now() - t0);
    if (expectIds && ids.sort().join() !== [...expectIds].sort().join()) throw new Error(`claim took ${ids.length} tasks, not B's ten`);
    await withClient(url, (c) =>
      c.query(`UPDATE pgboss.job SET state = 'created', started_on = NULL WHERE name = 'noop' AND id = ANY($1::uuid[])`, [ids]),
    );
  }
  return times;
}

export async function runGroups(o: GroupsOptions, log: Log): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const db = await benchDatabase();
  const kind = db.embedded ? 'embedded' : process.env.TASKFLEET_BENCH_SERVER === 'stock' ? 'stock' : 'DATABASE_URL';
  const label = `${kind} PostgreSQL ${db.serverVersion.split(' ')[0]}`;
  const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
  const logger = createLogger({ role: 'bench', config });
  const boss = await startBoss(createBoss({ config, role: 'bench', logger, max: 2, supervise: false, listen: false }), logger);
  try {
    const exec = executorOf(boss);
    const b = await fill(boss, o.backlog);
    await withClient(db.url, (c) => c.query('ANALYZE pgboss.job_common'));
    const claimOurs = async () => (await claimJobs(exec, 'noop', 10)).claimed.map((j) => j.id);
    const ours = await timeClaims(db.url, o.repeats, claimOurs, b);
    const fetchTheirs = async () => (await boss.fetch('noop', { batchSize: 10, groupConcurrency: 10 })).map((j) => j.id);
    const theirs = await timeClaims(db.url, o.repeats, fetchTheirs, b);
    await updateQueueSettings(exec, 'noop', { groupConcurrency: null });
    const plain = await timeClaims(db.url, o.repeats, claimOurs, undefined);
    for (const [contender, times] of [
      ['taskfleet claim, groupConcurrency 10', ours],
      ['pg-boss fetch({ groupConcurrency: 10 })', theirs],
      ['taskfleet claim, no group limit (scale)', plain],
    ] as const) {
      const s = summarize(times);
      rows.push({ server: label, contender, backlog: o.backlog, ...s });
      log(`${label}: ${contender}: median ${s.p50} ms, p99 ${s.p99} ms over ${times.length} claims`);
    }
  } finally {
    await boss.stop({ graceful: false, close: true });
    await db.stop();
  }
  console.table(rows);
  await writeResult('groups', { backlog: o.backlog, repeats: o.repeats, rows });
}
