/**
 * Per-queue partitions (issue 18): a task type defined with `partition: true` (here `test.partitioned`,
 * loaded through TASK_MODULES as a deployment's own type) gets its pg-boss queue created with a table
 * of its own. Real API and worker, real PostgreSQL (embedded 18, or DATABASE_URL): tasks run to
 * completion there, the triggers of migrations 000013/000014 (callbacks, dependencies, the task-end
 * NOTIFY) fire on its table, flow control and rescue find its jobs, the other queues stay in
 * `pgboss.job_common`; and a type whose queue already exists with another layout is left as it is, with
 * a warning.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import {
  applyMigrations,
  claimJobs,
  completeAndClaim,
  createBoss,
  createLogger,
  defineTask,
  type ExecutePrepared,
  findDeadClaims,
  loadConfig,
  noopTask,
  startBoss,
  syncQueues,
  TASK_END_CHANNEL,
  updateQueueSettings,
} from '@taskfleet/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestApi, type TestApi } from '../test-support/api.ts';
import { useTestDatabase } from '../test-support/database.ts';
import { partitionedTask, tasks as partitionedModule } from '../test-support/tasks/partitioned.ts';
import { startTestWorker, type TestWorker, waitFor } from '../test-support/worker.ts';

const MODULE = path.resolve(import.meta.dirname, '../test-support/tasks/partitioned.ts');
const Q = 'test.partitioned';
const ENV = {
  TASK_MODULES: MODULE,
  HTTP_REQUEST_ALLOWED_HOSTS: '127.0.0.1',
  HTTP_REQUEST_SIGNING_SECRET: 'callback-signing-secret-0123456789',
  API_PUBLIC_URL: 'http://api.test',
  WORKER_POLL_INTERVAL_MS: '100',
};

const db = useTestDatabase();
let api: TestApi;
let worker: TestWorker;
let table = '';
let server: Server;
let hook = '';
const received: string[] = [];

beforeAll(async () => {
  // `npm run migrate` with the module: migrations are already applied (template); the queue sync creates the queue.
  await applyMigrations(db.config(ENV), db.logger);
  const { rows } = await db.query<{ table_name: string }>('SELECT table_name FROM pgboss.queue WHERE name = $1', [Q]);
  table = rows[0]?.table_name ?? '';
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  api = await startTestApi(db, ENV);
  worker = await startTestWorker(db, ENV, partitionedModule);
});
afterAll(async () => {
  await worker?.stop(1);
  await api?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

async function submit(body: Record<string, unknown>, queue = Q): Promise<string> {
  const res = await api.request(`/v1/queues/${queue}/tasks`, { json: body });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function view(id: string, queue = Q): Promise<Record<string, any>> {
  return (await (await api.request(`/v1/queues/${queue}/tasks/${id}`)).json()) as Record<string, any>;
}

const inTable = async (tbl: string, ids: string[]) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.${tbl} WHERE id = ANY($1::uuid[])`, [ids])).rows[0]?.n;

describe('a queue with partition: true', () => {
  it('is created with a table of its own, a partition of pgboss.job with taskfleet’s indexes and triggers', async () => {
    expect(table).toMatch(/^j[0-9a-f]{56}$/);
    const { rows: queues } = await db.query<{ name: string; partition: boolean; table_name: string }>(
      'SELECT name, partition, table_name FROM pgboss.queue ORDER BY name',
    );
    for (const q of queues) {
      expect(q.partition).toBe(q.name === Q);
      if (q.name !== Q) expect(q.table_name).toBe('job_common'); // its dead-letter queue included
    }
    const { rows: parts } = await db.query<{ part: string }>(
      `SELECT c.relname AS part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'pgboss.job'::regclass`,
    );
    expect(parts.map((p) => p.part).sort()).toEqual([table, 'job_common'].sort());
    const { rows: indexes } = await db.query<{ name: string }>(
      `SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = $1::regclass`,
      [`pgboss.${table}`],
    );
    expect(indexes.map((i) => i.name.replace(`pgboss.${table}`, ''))).toEqual(
      expect.arrayContaining(['_pkey', '_i11', '_tfid', '_tfact', '_tfgrp']),
    );
    const { rows: triggers } = await db.query<{ tgname: string }>(
      'SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname',
      [`pgboss.${table}`],
    );
    expect(triggers.map((t) => t.tgname)).toEqual([
      'taskfleet_task_callback',
      'taskfleet_task_callback_inserted',
      'taskfleet_task_end_after_insert',
      'taskfleet_task_end_after_update',
    ]);
  });

  it('runs tasks submitted through the API to completion; the other queues stay in job_common', async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => submit({ payload: { echo: i, progress: 50 } })));
    const noopIds = await Promise.all(Array.from({ length: 5 }, () => submit({ payload: {} }, 'noop')));
    await waitFor(async () => (await Promise.all(ids.map((id) => view(id)))).every((t) => t.state === 'completed'), 'all completed');
    await waitFor(
      async () => (await Promise.all(noopIds.map((id) => view(id, 'noop')))).every((t) => t.state === 'completed'),
      'noop done',
    );
    expect(await view(ids[7] as string)).toMatchObject({ state: 'completed', output: { echo: 7 }, progress: 50 });
    expect(await inTable(table, ids)).toBe(30);
    expect(await inTable('job_common', ids)).toBe(0);
    expect(await inTable('job_common', noopIds)).toBe(5);
    const listed = (await (await api.request(`/v1/queues/${Q}/tasks?state=completed&limit=100`)).json()) as { tasks: unknown[] };
    expect(listed.tasks.length).toBeGreaterThanOrEqual(30);
  });

  it('fires the dependency triggers on its table, across tables, and announces watched ends', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const ended: string[] = [];
    listener.on('notification', (n) => ended.push(String(n.payload)));
    await listener.query(`LISTEN ${TASK_END_CHANNEL}`);
    try {
      const a = await submit({ payload: { sleepMs: 300, echo: 'a' } });
      const b = await submit({ payload: { echo: 'b' }, dependsOn: [a] }, 'noop');
      const c = await submit({ payload: { echo: 'c' }, dependsOn: [b] });
      expect((await view(c)).state).toBe('waiting');
      await waitFor(async () => (await view(c)).state === 'completed', 'C completed after B after A');
      const times = await db.query<{ id: string; started: Date; completed: Date }>(
        'SELECT id, started_on AS started, completed_on AS completed FROM pgboss.job WHERE id = ANY($1::uuid[])',
        [[a, b, c]],
      );
      const t = new Map(times.rows.map((r) => [r.id, r]));
      expect(t.get(b)?.started.getTime()).toBeGreaterThanOrEqual(t.get(a)?.completed.getTime() as number);
      expect(t.get(c)?.started.getTime()).toBeGreaterThanOrEqual(t.get(b)?.completed.getTime() as number);
      await waitFor(() => [a, b].every((id) => ended.includes(id)), 'the task-end NOTIFY of A (its table) and B');

      const failing = await submit({ payload: { failPermanently: true } });
      const dependent = await submit({ payload: {}, dependsOn: [failing] });
      await waitFor(async () => (await view(dependent)).state === 'cancelled', 'the dependent cancelled');
    } finally {
      await listener.end();
    }
  });

  it('hands a finished task’s callback to a delivery (the trigger on its table)', async () => {
    const id = await submit({ payload: { echo: 'cb' }, callback: { url: hook } });
    await waitFor(() => received.some((b) => b.includes(id)), 'the callback delivered', 20_000);
    expect(JSON.parse(received.find((b) => b.includes(id)) as string)).toMatchObject({ id, state: 'completed', output: { echo: 'cb' } });
  });
});

describe('taskfleet’s claim and rescue on a queue table', () => {
  it('applies flow control and groups, and finds a dead replica’s jobs there', async () => {
    await worker.stop(1);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const exec: ExecutePrepared = (q, v) => client.query(q as string, v);
    try {
      const ids: string[] = [];
      for (const g of ['g1', 'g1', 'g2', 'g2', 'g3']) ids.push(await submit({ payload: {}, group: g }));
      await updateQueueSettings(exec, Q, { concurrency: 4, groupConcurrency: 1 });
      const owner = '00000000-0000-4000-8000-00000000dead';
      const first = await claimJobs(exec, Q, 10, undefined, owner);
      expect(first.claimed.map((j) => j.id).sort()).toEqual([ids[0], ids[2], ids[4]].sort()); // the head of each group
      const second = await claimJobs(exec, Q, 10, undefined, owner);
      expect(second.claimed).toHaveLength(0); // every group at its limit
      const dead = await findDeadClaims(exec, '00000000-0000-4000-8000-000000000001', 5);
      expect(
        dead
          .find((d) => d.queue === Q)
          ?.attempts.map((a) => a.id)
          .sort(),
      ).toEqual(first.claimed.map((j) => j.id).sort());
      const done = await completeAndClaim(
        exec,
        Q,
        first.claimed.map((j) => ({ id: j.id, retryCount: j.retryCount, output: null })),
        10,
        undefined,
        owner,
      );
      expect(done.settled.sort()).toEqual(first.claimed.map((j) => j.id).sort());
      expect(done.claimed.map((j) => j.id).sort()).toEqual([ids[1], ids[3]].sort());
      await updateQueueSettings(exec, Q, { paused: true });
      const paused = await claimJobs(exec, Q, 10, undefined, owner);
      expect(paused.claimed).toHaveLength(0);
      expect(paused.throttle).toEqual({ retryAfterMs: null });
    } finally {
      await client.end();
    }
  });
});

describe('queue sync', () => {
  it('leaves an existing queue in its table and warns when the type asks for the other layout', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      role: 'test',
      config: loadConfig({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }),
      destination: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const boss = await startBoss(
      createBoss({ config: db.config(), role: 'migrate', logger, max: 2, supervise: false, listen: false }),
      logger,
    );
    try {
      const partitionedNoop = defineTask({
        name: 'noop',
        description: 'noop, now asking for a table',
        schema: z.object({}),
        partition: true,
      });
      const shared = defineTask({ ...partitionedTask, partition: false });
      await syncQueues(boss, logger, { noop: partitionedNoop, [Q]: shared });
      const { rows } = await db.query<{ name: string; partition: boolean }>(
        'SELECT name, partition FROM pgboss.queue WHERE name = ANY($1) ORDER BY name',
        [['noop', Q]],
      );
      expect(rows).toEqual([
        { name: 'noop', partition: false },
        { name: Q, partition: true },
      ]);
      const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40 || l.level === 'warn');
      expect(warnings.map((w) => w.queue).sort()).toEqual(['noop', Q]);
      expect(warnings.find((w) => w.queue === 'noop')?.msg).toMatch(/shared table pgboss\.job_common.*Per-queue partitions/);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
    expect(noopTask.partition).toBeUndefined();
  });

  it('gives a queue deleted while the fleet is stopped its own table when the sync makes it again (the offline move)', async () => {
    const boss = await startBoss(
      createBoss({ config: db.config(), role: 'migrate', logger: db.logger, max: 2, supervise: false, listen: false }),
      db.logger,
    );
    try {
      const spec = { name: 'test.moved', description: 'moved to a table of its own', schema: z.object({}) };
      await syncQueues(boss, db.logger, { 'test.moved': defineTask(spec) });
      await boss.send('test.moved', {});
      const layout = async () =>
        (await db.query('SELECT partition, table_name FROM pgboss.queue WHERE name = $1', ['test.moved'])).rows[0] as {
          partition: boolean;
          table_name: string;
        };
      expect(await layout()).toEqual({ partition: false, table_name: 'job_common' });
      // docs/operations.md, "Per-queue partitions": drop the queue (its tasks with it), then migrate.
      await db.query(`SELECT pgboss.delete_queue('test.moved')`);
      await syncQueues(boss, db.logger, { 'test.moved': defineTask({ ...spec, partition: true }) });
      expect((await layout()).partition).toBe(true);
      const id = await boss.send('test.moved', {});
      expect(await inTable((await layout()).table_name, [id as string])).toBe(1);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
});
