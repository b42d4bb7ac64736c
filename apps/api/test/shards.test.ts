/**
 * The API across two shards: two databases on the test server (each cloned from the migrated
 * template), one pg-boss per shard opened as runMain does (openShards), shard 1 behind a TCP proxy so
 * the last tests can make that one database unreachable without touching the others.
 */
import {
  createLogger,
  createMetricsRegistry,
  loadConfig,
  type OpenShards,
  openShards,
  Scheduler,
  shardOfId,
  type ShardSet,
} from '@taskfleet/core';
import { type Api, createApi } from '@taskfleet/api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../../test-support/database.ts';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.ts';

const dbs: { url: string; drop: () => Promise<void> }[] = [];
const pools: pg.Pool[] = [];
let proxy: TcpProxy;
let opened: OpenShards;
let shards: ShardSet;
let api: Api;

beforeAll(async () => {
  dbs.push(await createDatabase(), await createDatabase());
  proxy = await startTcpProxy((dbs[1] as { url: string }).url);
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    API_AUTH: 'disabled',
    DATABASE_SHARDS: `0=${dbs[0]?.url},1=${proxy.url}`,
    DATABASE_CONNECT_TIMEOUT_MS: '2000',
  });
  const logger = createLogger({ role: 'test', config, destination: process.stderr });
  opened = await openShards({ config, role: 'api', logger, boss: { max: 4, supervise: false, listen: false } });
  shards = opened.shards;
  api = createApi({ config, boss: shards.home.boss, shards, logger, metrics: createMetricsRegistry('api'), isDraining: () => false });
  for (const db of dbs) pools.push(new pg.Pool({ connectionString: db.url, max: 2 }));
});

afterAll(async () => {
  await api?.close();
  await opened?.stop();
  await proxy?.close();
  await Promise.all(pools.map((p) => p.end()));
  for (const db of dbs) await db.drop();
});

const request = (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const { json, ...rest } = init;
  return api.app.request(path, {
    ...rest,
    ...(json !== undefined ? { method: rest.method ?? 'POST', body: JSON.stringify(json) } : {}),
    headers: { 'content-type': 'application/json', ...(rest.headers as Record<string, string>) },
  });
};

/** Which shard's database holds this noop task (-1: neither). */
async function storedOn(id: string): Promise<number> {
  for (const [shard, pool] of pools.entries()) {
    const { rows } = await pool.query('SELECT 1 FROM pgboss.job WHERE name = $1 AND id = $2', ['noop', id]);
    if (rows.length) return shard;
  }
  return -1;
}

/** A group name whose tasks go to `shard`. */
const groupOn = (shard: number, prefix = 'g') => {
  for (let i = 0; ; i++) if (shards.forKey(`${prefix}-${i}`).id === shard) return `${prefix}-${i}`;
};

const ids: string[] = [];

/** Run `fn` over 0..n-1 with at most `concurrency` at once. */
async function eachLimited(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

describe('two shards', () => {
  it('spreads 1,000 tasks from 50 groups over both shards, and every read right after its 202 finds the task', async () => {
    const perShard = [0, 0];
    let notFound = 0;
    await eachLimited(1000, 25, async (i) => {
      const res = await request('/v1/queues/noop/tasks', { json: { payload: { echo: i }, group: `tenant-${i % 50}` } });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      const read = await request(`/v1/queues/noop/tasks/${id}`);
      if (read.status === 404) notFound++;
      expect(read.status).toBe(200);
      expect(shardOfId(id)).toBe(shards.forKey(`tenant-${i % 50}`).id);
      perShard[shardOfId(id)] = (perShard[shardOfId(id)] ?? 0) + 1;
      ids.push(id);
    });
    expect(notFound).toBe(0);
    for (const n of perShard) expect(n / 1000).toBeGreaterThanOrEqual(0.3);
    // Each task is in the database its id names (a sample: every 20th).
    for (const id of ids.filter((_, k) => k % 20 === 0)) expect(await storedOn(id)).toBe(shardOfId(id));
    // By id alone, too.
    expect((await request(`/v1/tasks/${ids[0]}`)).status).toBe(200);
  });

  it('puts an idempotency key on the same id and shard every time', async () => {
    const send = () => request('/v1/queues/noop/tasks', { json: { payload: { echo: 1 } }, headers: { 'idempotency-key': 'order-77' } });
    const first = await send();
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    const again = await send();
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(id);
    expect(shardOfId(id)).toBe(shards.forKey('order-77').id);
    expect(await storedOn(id)).toBe(shardOfId(id));
  });

  it('splits a batch by shard and answers in the request order', async () => {
    const groups = Array.from({ length: 12 }, (_, i) => groupOn(i % 2, `batch${i}`));
    const res = await request('/v1/queues/noop/tasks:batch', {
      json: { tasks: groups.map((group, i) => ({ payload: { echo: i }, group })) },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; results: { index: number; status: string; id: string }[] };
    expect(body.accepted).toBe(12);
    expect(body.results.map((r) => r.index)).toEqual(groups.map((_, i) => i));
    for (const [i, r] of body.results.entries()) {
      expect(shardOfId(r.id)).toBe(i % 2);
      expect(await storedOn(r.id)).toBe(i % 2);
    }
  });

  it('refuses dependencies on different shards with a 422 naming dependsOn, and puts a dependent task on its parents’ shard', async () => {
    const parent = async (shard: number) => {
      const res = await request('/v1/queues/noop/tasks', { json: { payload: {}, group: groupOn(shard, 'parent') } });
      return ((await res.json()) as { id: string }).id;
    };
    const [a, b] = [await parent(0), await parent(1)];
    const refused = await request('/v1/queues/noop/tasks', { json: { payload: {}, dependsOn: [a, b] } });
    expect(refused.status).toBe(422);
    const problem = (await refused.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors[0]?.field).toBe('dependsOn');
    expect(problem.errors[0]?.message).toMatch(/different shards.*one database/);
    // Its own group hashes to shard 1; its parent is on shard 0: it goes to shard 0.
    const child = await request('/v1/queues/noop/tasks', { json: { payload: {}, group: groupOn(1, 'child'), dependsOn: [a] } });
    expect(child.status).toBe(202);
    const { id, state } = (await child.json()) as { id: string; state: string };
    expect(state).toBe('waiting');
    expect(shardOfId(id)).toBe(0);
    expect(await storedOn(id)).toBe(0);
  });

  it('sums both shards in /v1/queues and merges the listing pages in order', async () => {
    const count = async (p: pg.Pool, where = '') =>
      (await p.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop' ${where}`)).rows[0].n as number;
    // The depths leave out tasks waiting for their dependencies (neither ready nor scheduled).
    const counted = await Promise.all(pools.map((p) => count(p, 'AND NOT blocked')));
    const counts = await Promise.all(pools.map((p) => count(p)));
    const queues = (await (await request('/v1/queues')).json()) as { queues: { name: string; depth: Record<string, number> }[] };
    const noop = queues.queues.find((q) => q.name === 'noop');
    expect(Object.values(noop?.depth ?? {}).reduce((a, b) => a + b, 0)).toBe((counted[0] ?? 0) + (counted[1] ?? 0));

    const seen: string[] = [];
    let last = '9999';
    let cursor: string | null = null;
    do {
      const res = await request(`/v1/queues/noop/tasks?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.headers.get('x-missing-shards')).toBeNull();
      const page = (await res.json()) as { tasks: { id: string; createdAt: string }[]; nextCursor: string | null };
      for (const t of page.tasks) {
        expect(t.createdAt <= last).toBe(true);
        last = t.createdAt;
        seen.push(t.id);
      }
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe((counts[0] ?? 0) + (counts[1] ?? 0));
  });
});

describe('schedules on two shards', () => {
  it("keeps a schedule on its name's shard, lists both shards, and fires its slots there with the shard in the task id", async () => {
    const names = [0, 1].map((shard) => {
      for (let i = 0; ; i++) if (shards.forKey(`nightly-${i}`).id === shard) return `nightly-${i}`;
    });
    for (const name of names) {
      const res = await request(`/v1/schedules/${name}`, { method: 'PUT', json: { queue: 'noop', cron: '* * * * *', payload: {} } });
      expect(res.status).toBe(201);
    }
    for (const [shard, name] of names.entries()) {
      const { rows } = await (pools[shard] as pg.Pool).query('SELECT name FROM taskfleet.schedules WHERE name = $1', [name]);
      expect(rows).toHaveLength(1);
    }
    const listed = (await (await request('/v1/schedules')).json()) as { schedules: { name: string }[] };
    expect(listed.schedules.map((s) => s.name)).toEqual([...names].sort());
    // Due now on shard 1: its scheduler fires the slot there, the task id naming shard 1.
    await (pools[1] as pg.Pool).query(`UPDATE taskfleet.schedules SET next_run_at = now() - interval '1 minute' WHERE name = $1`, [
      names[1],
    ]);
    const shard1 = shards.byId(1) as NonNullable<ReturnType<ShardSet['byId']>>;
    const logger = createLogger({ role: 'test', config: loadConfig({ LOG_LEVEL: 'silent' }), destination: process.stderr });
    const scheduler = new Scheduler({
      boss: shard1.boss,
      logger,
      registry: createMetricsRegistry('api'),
      wake: () => {},
      intervalMs: 0,
      shard: 1,
    });
    const fired = await scheduler.tick();
    await scheduler.stop();
    expect(fired.map((f) => f.name)).toEqual([names[1]]);
    expect(shardOfId(fired[0]?.taskId as string)).toBe(1);
    expect(await storedOn(fired[0]?.taskId as string)).toBe(1);
    for (const name of names) expect((await request(`/v1/schedules/${name}`, { method: 'DELETE' })).status).toBe(204);
  });
});

describe('one shard down', () => {
  it('answers 503 + Retry-After naming the shard for its tasks only; the other shard takes and reads its tasks', async () => {
    const downTask = ids.find((id) => shardOfId(id) === 1) as string;
    const upTask = ids.find((id) => shardOfId(id) === 0) as string;
    await proxy.cut();

    const refused = await request('/v1/queues/noop/tasks', { json: { payload: {}, group: groupOn(1, 'down') } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(await refused.json()).toMatchObject({ status: 503, shard: 1, type: 'https://taskfleet.dev/problems/shard-unavailable' });
    const read = await request(`/v1/queues/noop/tasks/${downTask}`);
    expect(read.status).toBe(503);
    expect(((await read.json()) as { shard: number }).shard).toBe(1);

    const taken = await request('/v1/queues/noop/tasks', { json: { payload: {}, group: groupOn(0, 'up') } });
    expect(taken.status).toBe(202);
    const { id } = (await taken.json()) as { id: string };
    expect((await request(`/v1/queues/noop/tasks/${id}`)).status).toBe(200);
    expect((await request(`/v1/queues/noop/tasks/${upTask}`)).status).toBe(200);

    // A batch over both: shard 0's items stored, shard 1's `unavailable` (not acknowledged).
    const groups = [groupOn(0, 'mix'), groupOn(1, 'mix'), groupOn(0, 'mix2')];
    const batch = await request('/v1/queues/noop/tasks:batch', { json: { tasks: groups.map((group) => ({ payload: {}, group })) } });
    expect(batch.status).toBe(202);
    expect(batch.headers.get('x-missing-shards')).toBe('1');
    const result = (await batch.json()) as { accepted: number; unavailable: number; results: { status: string; shard?: number }[] };
    expect(result.results.map((r) => r.status)).toEqual(['accepted', 'unavailable', 'accepted']);
    expect(result.results[1]?.shard).toBe(1);
    expect([result.accepted, result.unavailable]).toEqual([2, 1]);
    // Only shard 1's items: nothing stored, the whole request is a 503.
    const allDown = await request('/v1/queues/noop/tasks:batch', { json: { tasks: [{ payload: {}, group: groupOn(1, 'all') }] } });
    expect(allDown.status).toBe(503);

    // Fan-out reads answer from shard 0 and name shard 1.
    const list = await request('/v1/queues/noop/tasks?limit=5');
    expect(list.status).toBe(200);
    expect(list.headers.get('x-missing-shards')).toBe('1');
    expect(((await list.json()) as { tasks: unknown[] }).tasks).toHaveLength(5);
    // The depth cache is refreshed in the background: its failure shows within a refresh or two.
    let missing: string | null = null;
    for (let i = 0; i < 60 && missing === null; i++) {
      const res = await request('/v1/queues');
      expect(res.status).toBe(200);
      missing = res.headers.get('x-missing-shards');
      if (missing === null) await new Promise((r) => setTimeout(r, 250));
    }
    expect(missing).toBe('1');
    // The home shard answers: the replica stays ready.
    expect((await request('/readyz')).status).toBe(200);
  });
});
