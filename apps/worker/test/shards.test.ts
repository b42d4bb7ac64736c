/**
 * A worker replica given several shards (two databases on the test server, each migrated from the
 * template, each with its own pg-boss): it drains every shard, shares its slots fairly between the
 * shards with backlog (an idle shard does not cap a busy one), and a shard that goes away mid-run
 * stalls only its own loops — the other keeps draining, /readyz stays 200, and once it is back
 * nothing of it is lost.
 */
import {
  createBoss,
  createLogger,
  createMetricsRegistry,
  executorOf,
  insertTasks,
  loadConfig,
  noopTask,
  PRIORITIES,
  primaryReads,
  type Shard,
  ShardSet,
  startBoss,
  uuidv7,
} from '@taskfleet/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createDatabase } from '../../../test-support/database.ts';
import { spawnApp, stopProcess, waitReady } from '../../../test-support/processes.ts';
import { waitFor } from '../../../test-support/worker.ts';
import { defineHandler, type HandlerEntry } from '../src/handlers/types.ts';
import { createWorker, type Worker } from '../src/worker.ts';

const logger = createLogger({ role: 'test', config: loadConfig({ LOG_LEVEL: 'silent' }), destination: process.stderr });
const dbs: Awaited<ReturnType<typeof createDatabase>>[] = [];
let shards: ShardSet;
const configFor = (env: Record<string, string> = {}) =>
  loadConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'test', WORKER_POLL_INTERVAL_MS: '200', ...env, DATABASE_URL: dbs[0]?.url ?? '' });

beforeAll(async () => {
  dbs.push(await createDatabase(), await createDatabase());
  const config = configFor();
  const opened: Shard[] = [];
  for (const [id, db] of dbs.entries()) {
    // Maintenance every second, as a worker runs it: it expires the attempts a shard outage stranded.
    const boss = await startBoss(
      createBoss({
        config,
        role: 'worker',
        logger,
        url: db.url,
        instance: `s${id}`,
        max: config.worker.poolSize,
        supervise: true,
        listen: false,
        overrides: { superviseIntervalSeconds: 1, monitorIntervalSeconds: 1 },
      }),
      logger,
    );
    const executeSql = executorOf(boss);
    opened.push({ id, boss, executeSql, reads: primaryReads(executeSql) });
  }
  shards = new ShardSet(opened);
});
afterAll(async () => {
  for (const s of shards?.all ?? []) await s.boss.stop({ graceful: false, close: true });
  for (const db of dbs) await db.drop();
});

const workers: Worker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(1);
  for (const s of shards.all) await s.executeSql('DELETE FROM pgboss.job');
});

async function startWorker(env: Record<string, string>, handlers: HandlerEntry[]): Promise<Worker> {
  const config = configFor(env);
  const worker = createWorker({ config, boss: shards.home.boss, shards, logger, metrics: createMetricsRegistry('worker'), handlers });
  workers.push(worker);
  await worker.start();
  return worker;
}

/** Insert `n` noop tasks on a shard (its NOTIFY wakes the worker's loop of that shard, unless `quiet`). */
async function insert(shard: Shard, n: number, extra: { expireInSeconds?: number } = {}, quiet = false): Promise<string[]> {
  const rows = Array.from({ length: n }, () => ({
    id: uuidv7(),
    data: { payload: {}, meta: { submitter: null } },
    priority: PRIORITIES.normal,
    ...extra,
  }));
  return insertTasks(shard.executeSql, 'noop', rows, quiet ? () => undefined : undefined);
}

async function completed(shard: Shard, ids: string[]): Promise<number> {
  const { rows } = await shard.executeSql(`SELECT count(*)::int AS n FROM pgboss.job WHERE id = ANY($1::uuid[]) AND state = 'completed'`, [
    ids,
  ]);
  return (rows[0] as { n: number }).n;
}

const allCompleted = (shard: Shard, ids: string[]) => async () => (await completed(shard, ids)) === ids.length;

/** A handler that records the order jobs ran in and takes `ms`. */
function recording(ms: number) {
  const ran: string[] = [];
  const handler = defineHandler(noopTask, async (_p, ctx) => {
    ran.push(ctx.jobId);
    await new Promise((r) => setTimeout(r, ms));
    return null;
  });
  return { ran, handler };
}

const [s0, s1] = [() => shards.all[0] as Shard, () => shards.all[1] as Shard];

describe('a worker given two shards', () => {
  it('drains tasks inserted on both', async () => {
    const { handler } = recording(1);
    const a = await insert(s0(), 200);
    const b = await insert(s1(), 200);
    await startWorker({ WORKER_CONCURRENCY: '10' }, [handler]);
    await waitFor(allCompleted(s0(), a), 'shard 0 drained');
    await waitFor(allCompleted(s1(), b), 'shard 1 drained');
  });

  // Told by a NOTIFY, or finding it by looking once a polling interval (no NOTIFY sent).
  it.each([
    ['told by NOTIFY', false],
    ['found by polling', true],
  ])('shares the slots between two shards with backlog: a shard whose work arrives late is not starved (%s)', async (how, quiet) => {
    const { ran, handler } = recording(10);
    const a = await insert(s0(), 1500);
    await startWorker({ WORKER_CONCURRENCY: '8', WORKER_CRITICAL_RESERVED_SLOTS: '0' }, [handler]);
    // Shard 0 has every slot, its settle statements refilling them with its own next jobs …
    await waitFor(() => ran.length >= 100, 'shard 0 draining');
    const before = ran.length;
    const b = await insert(s1(), 300, {}, quiet);
    const fromB = new Set(b);
    // … until shard 1's work arrives: from then on both drain at about the same rate.
    await waitFor(() => b.every((id) => ran.includes(id)), 'shard 1 drained', 30_000);
    // Rates from shard 1's first start to its last (the first waits for the NOTIFY, or up to a polling interval).
    const at = b.map((id) => ran.indexOf(id));
    const during = ran.slice(Math.min(...at), Math.max(...at) + 1);
    const ranA = during.filter((id) => !fromB.has(id)).length;
    console.log(
      `[fair share, ${how}] shard 0 ran ${ranA} tasks while shard 1 ran its 300 (shard 1 started ${Math.min(...at) - before} runs after its insert)`,
    );
    expect(during.length - ranA).toBe(300);
    expect(Math.max(...at) + 1 - 300).toBeLessThan(a.length); // shard 0 still had backlog when shard 1 finished
    expect(ranA).toBeGreaterThan(300 / 2);
    expect(ranA).toBeLessThan(300 * 2);
  });

  it('lets a busy shard use every slot while the other is idle', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const held = defineHandler(noopTask, async () => {
      await gate;
      return null;
    });
    const a = await insert(s0(), 20);
    const w = await startWorker({ WORKER_CONCURRENCY: '8', WORKER_CRITICAL_RESERVED_SLOTS: '0' }, [held]);
    await waitFor(() => w.slots.active === 8, 'all 8 slots busy');
    const { rows } = await s0().executeSql(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop' AND state = 'active'`);
    expect((rows[0] as { n: number }).n).toBe(8);
    open();
    await waitFor(allCompleted(s0(), a), 'shard 0 drained');
  });
});

describe('the worker process (main.ts) with DATABASE_SHARDS', () => {
  it('drains both shards and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
    const a = await insert(s0(), 50);
    const b = await insert(s1(), 50);
    const child = await spawnApp('worker', {
      DATABASE_SHARDS: `0=${dbs[0]?.url},1=${dbs[1]?.url}`,
      LOG_LEVEL: 'warn',
      WORKER_POLL_INTERVAL_MS: '200',
    });
    try {
      await waitReady(child);
      await waitFor(allCompleted(s0(), a), 'shard 0 drained by the process');
      await waitFor(allCompleted(s1(), b), 'shard 1 drained by the process');
      expect(await stopProcess(child)).toBe(0);
    } finally {
      await stopProcess(child, 'SIGKILL');
    }
  });
});

describe('a shard that goes away mid-run', () => {
  const admin = adminQuery;
  /** Refuse new connections to shard 1's database and end the open ones (no other database is touched). */
  const takeDown = async () => {
    const name = dbs[1]?.name as string;
    await admin(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
  };
  const bringBack = () => admin(`ALTER DATABASE ${dbs[1]?.name} WITH ALLOW_CONNECTIONS true`);
  afterEach(bringBack);

  it('stalls only its own loops: the other shard keeps draining, /readyz stays 200, and nothing is lost', {
    timeout: 90_000,
  }, async () => {
    const { ran, handler } = recording(20);
    // Attempts stranded by the outage (claimed, their settling failed) expire after 3 s and run again.
    const b = await insert(s1(), 300, { expireInSeconds: 3 });
    const w = await startWorker({ WORKER_CONCURRENCY: '8' }, [handler]);
    const failedOn = new Set<number | undefined>();
    w.events.on('fetch:error', (e) => failedOn.add(e.shard));
    await waitFor(() => ran.length >= 20, 'shard 1 draining');
    await takeDown();
    await waitFor(() => failedOn.has(1), 'shard 1 claims failing', 20_000);
    const a = await insert(s0(), 200);
    await waitFor(allCompleted(s0(), a), 'shard 0 drained while shard 1 is down', 30_000);
    expect([...failedOn]).toEqual([1]);
    const ready = await w.http.request('/readyz');
    expect(ready.status).toBe(200);
    await bringBack();
    const more = await insert(s1(), 50);
    await waitFor(allCompleted(s1(), [...b, ...more]), 'shard 1 drained after it came back', 60_000);
  });

  it('a worker started while a shard is down drains the other, and the down one once it answers', { timeout: 60_000 }, async () => {
    const { handler } = recording(1);
    await takeDown();
    const w = await startWorker({ WORKER_CONCURRENCY: '8' }, [handler]);
    const a = await insert(s0(), 100);
    await waitFor(allCompleted(s0(), a), 'shard 0 drained');
    expect((await w.http.request('/readyz')).status).toBe(200);
    await bringBack();
    const b = await insert(s1(), 100);
    await waitFor(allCompleted(s1(), b), 'shard 1 drained once it answered', 30_000);
  });
});
