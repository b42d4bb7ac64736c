/**
 * Issue 18's acceptance, on real PostgreSQL processes: two embedded primaries, each with a real
 * streaming replica, an API and two workers as OS processes given that shard map.
 * - 5,000 tasks from 50 tenants land on both shards (neither under 30 %) and all complete; every
 *   status read right after its 202 finds the task; replicas serve ≥ 90 % of the status reads.
 * - A replica stopped: reads keep answering (from the primary), no 5xx; restarted: used again.
 * - One primary down for 10 s: only its tenants' submissions answer 503 + Retry-After; the other
 *   shard's tasks keep completing; nothing acknowledged is lost.
 * - A third shard added to the map: ≤ 40 % of keys move; tasks already queued finish on their shard.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrationsToShards, createLogger, loadConfig, rendezvous, shardOfId } from '@taskfleet/core';
import { type EmbeddedTopology, freePortRange, startEmbeddedTopology } from '../scripts/lib/embedded-topology.ts';
import { createLedgerTable, Fleet, LEDGER_MODULE } from '../test-support/chaos.ts';
import type { AppProcess } from '../test-support/processes.ts';
import { allFinished, counter, eachLimited, poolsFor, readTask, submitForTenant } from '../test-support/topology.ts';

const TENANTS = Array.from({ length: 50 }, (_, i) => `tenant-${i}`);
let dir: string;
let topology: EmbeddedTopology;
/** The third shard, added by the last test (a one-server topology of its own, mapped as id 2). */
let third: EmbeddedTopology | undefined;
let fleet: Fleet;
let api: AppProcess;
let primaries: Map<number, pg.Pool>;
const acked: string[] = [];
/** Tenant → the shard its tasks landed on (from the ids the API returned). */
const tenantShard = new Map<string, number>();

/** The shard map: the two-shard topology, plus the third primary once added. */
function mapEnv(): Record<string, string> {
  const env = topology.env();
  if (!third) return env;
  const shards = topology.specs.map((s) => `${s.id}=${s.url}`);
  return { ...env, DATABASE_SHARDS: [...shards, `2=${third.specs[0]?.url}`].join(',') };
}

const fleetEnv = () => ({
  ...mapEnv(),
  TASK_MODULES: LEDGER_MODULE,
  DATABASE_CONNECT_TIMEOUT_MS: '1000',
  DATABASE_REPLICA_CHECK_INTERVAL_MS: '200',
  WORKER_CONCURRENCY: '16',
  WORKER_MAINTENANCE_INTERVAL_SECONDS: '1',
  WORKER_POLL_INTERVAL_MS: '200',
});

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tf-topology-'));
  await chmod(dir, 0o755);
  topology = await startEmbeddedTopology({
    baseDir: path.join(dir, 'pg'),
    basePort: await freePortRange(4),
    shards: 2,
    replicasPerShard: 1,
  });
  const config = loadConfig({ ...topology.env(), TASK_MODULES: LEDGER_MODULE, LOG_LEVEL: 'warn' });
  await applyMigrationsToShards(config, createLogger({ role: 'test', config }));
  primaries = poolsFor(new Map(topology.specs.map((s) => [s.id, s.url])));
  // The ledger handler records runs on the home shard (its DATABASE_URL).
  const home = primaries.get(0) as pg.Pool;
  await createLedgerTable((text, values) => home.query(text, values));
  fleet = new Fleet(fleetEnv());
  api = await fleet.addApi();
  await fleet.addWorker();
  await fleet.addWorker();
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  for (const pool of primaries?.values() ?? []) await pool.end();
  await third?.stop();
  await topology?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('two shards with a streaming replica each', () => {
  it('spreads 5,000 tenant tasks over both shards, completes them all, and reads each right after its 202', {
    timeout: 240_000,
  }, async () => {
    const readsBefore = await counter(api.url, 'taskfleet_db_reads_total');
    const replicaBefore = await counter(api.url, 'taskfleet_db_reads_total', { target: 'replica' });
    const notFound: string[] = [];
    const failures: string[] = [];
    await eachLimited(
      Array.from({ length: 5_000 }, (_, i) => i),
      16,
      async (i) => {
        const tenant = TENANTS[i % TENANTS.length] as string;
        const sent = await submitForTenant(api.url, tenant, `first-${i}`);
        if (sent.status !== 202 || !sent.id) {
          failures.push(`${sent.status}`);
          return;
        }
        acked.push(sent.id);
        const shard = shardOfId(sent.id);
        if ((tenantShard.get(tenant) ?? shard) !== shard) failures.push(`${tenant} on two shards`);
        tenantShard.set(tenant, shard);
        const read = await readTask(api.url, sent.id);
        if (read === 404) notFound.push(sent.id);
        else if (read !== 200) failures.push(`read ${read}`);
      },
    );
    expect(failures).toEqual([]);
    expect(notFound).toEqual([]);
    const audit = await allFinished(primaries, acked, 120_000);
    expect(audit.lost).toEqual([]);
    expect(audit.unfinished).toEqual([]);
    for (const shard of [0, 1]) expect((audit.found.get(shard) ?? 0) / acked.length).toBeGreaterThanOrEqual(0.3);
    // The ids name the shard that holds the row.
    for (const [shard, found] of audit.found) expect(found).toBe(acked.filter((id) => shardOfId(id) === shard).length);
    const reads = (await counter(api.url, 'taskfleet_db_reads_total')) - readsBefore;
    const fromReplicas = (await counter(api.url, 'taskfleet_db_reads_total', { target: 'replica' })) - replicaBefore;
    expect(reads).toBeGreaterThanOrEqual(5_000);
    expect(fromReplicas / reads).toBeGreaterThanOrEqual(0.9);
  });

  it('keeps answering reads from the primary while a replica is down, and uses it again once back', { timeout: 120_000 }, async () => {
    const replica = topology.shards[0]?.replicas[0];
    if (!replica) throw new Error('no replica');
    const ids = acked.filter((id) => shardOfId(id) === 0).slice(0, 200);
    await replica.stop();
    const statuses: number[] = [];
    await eachLimited(ids, 8, async (id) => void statuses.push(await readTask(api.url, id)));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await topology.restart(replica);
    // Used again: replica reads of shard 0 grow once the probe sees it healthy.
    const deadline = Date.now() + 30_000;
    const before = await counter(api.url, 'taskfleet_db_reads_total', { shard: '0', target: 'replica' });
    let after = before;
    while (after === before && Date.now() < deadline) {
      await eachLimited(ids.slice(0, 20), 4, async (id) => void (await readTask(api.url, id)));
      after = await counter(api.url, 'taskfleet_db_reads_total', { shard: '0', target: 'replica' });
    }
    expect(after).toBeGreaterThan(before);
  });

  it('with one primary down for 10 s, only its tenants answer 503 and nothing acknowledged is lost', { timeout: 180_000 }, async () => {
    // Shard 1 goes down (shard 0 is home: API keys and the ledger the handlers write to).
    const down = topology.shards[1]?.primary;
    if (!down) throw new Error('no shard 1');
    const downTenants = TENANTS.filter((t) => tenantShard.get(t) === 1);
    const upTenants = TENANTS.filter((t) => tenantShard.get(t) === 0);
    expect(downTenants.length).toBeGreaterThan(0);
    expect(upTenants.length).toBeGreaterThan(0);
    const before = await allFinished(new Map([[0, primaries.get(0) as pg.Pool]]), [], 0);
    expect(before.lost).toEqual([]);
    down.process.kill('SIGQUIT'); // down hard, as a crash leaves it
    await down.exited;
    const downAt = Date.now();
    const outage = { up: new Map<number, number>(), down: new Map<number, number>(), downRetryAfter: 0 };
    const upIds: string[] = [];
    let n = 0;
    while (Date.now() - downAt < 10_000) {
      await eachLimited([...upTenants.slice(0, 4), ...downTenants.slice(0, 4)], 8, async (tenant) => {
        const sent = await submitForTenant(api.url, tenant, `outage-${n++}`);
        const side = tenantShard.get(tenant) === 1 ? outage.down : outage.up;
        side.set(sent.status, (side.get(sent.status) ?? 0) + 1);
        if (sent.status === 503 && sent.retryAfter) outage.downRetryAfter++;
        if (sent.status === 202 && sent.id && tenantShard.get(tenant) === 0) upIds.push(sent.id);
        if (sent.status === 202 && sent.id) acked.push(sent.id);
      });
    }
    // The other shard kept flowing: its outage-time tasks complete while shard 1 is still down.
    const upAudit = await allFinished(new Map([[0, primaries.get(0) as pg.Pool]]), upIds, 30_000);
    await topology.restart(down);
    expect([...outage.up.keys()]).toEqual([202]);
    expect(upIds.length).toBeGreaterThan(20);
    expect(upAudit.unfinished).toEqual([]);
    expect(upAudit.lost).toEqual([]);
    // Its own tenants: 503 + Retry-After, never a 5xx other than 503 (and 202 only before it noticed).
    expect([...outage.down.keys()].filter((s) => s !== 503 && s !== 202)).toEqual([]);
    expect(outage.down.get(503) ?? 0).toBeGreaterThan(0);
    expect(outage.downRetryAfter).toBe(outage.down.get(503));
    const audit = await allFinished(primaries, acked, 120_000);
    expect(audit.lost).toEqual([]);
    expect(audit.unfinished).toEqual([]);
  });

  it('adding a third shard moves at most 40 % of keys, and tasks already queued finish on their shard', { timeout: 240_000 }, async () => {
    const keys = [...TENANTS, ...Array.from({ length: 2_000 }, (_, i) => `key-${i}`)];
    const moved = keys.filter((k) => rendezvous(k, [0, 1]) !== rendezvous(k, [0, 1, 2])).length;
    expect(moved / keys.length).toBeLessThanOrEqual(0.4);
    // Queue work with the workers gone, then change the map under it.
    for (const w of [...fleet.workers]) await fleet.stopWorker(w);
    const queued: string[] = [];
    await eachLimited(TENANTS, 8, async (tenant, i) => {
      const sent = await submitForTenant(api.url, tenant, `before-third-${i}`);
      if (sent.status === 202 && sent.id) queued.push(sent.id);
    });
    expect(queued.length).toBe(TENANTS.length);
    await fleet.stopApi(api);
    third = await startEmbeddedTopology({
      baseDir: path.join(dir, 'pg3'),
      basePort: await freePortRange(1),
      shards: 1,
      replicasPerShard: 0,
    });
    const config = loadConfig({ ...mapEnv(), TASK_MODULES: LEDGER_MODULE, LOG_LEVEL: 'warn' });
    await applyMigrationsToShards(config, createLogger({ role: 'test', config }));
    primaries.set(2, poolsFor(new Map([[2, third.specs[0]?.url as string]])).get(2) as pg.Pool);
    fleet.setEnv(fleetEnv());
    api = await fleet.addApi();
    await fleet.addWorker();
    // Already-queued tasks finish where they were created, and read back through the new map.
    const audit = await allFinished(primaries, queued, 60_000);
    expect(audit.unfinished).toEqual([]);
    expect(audit.lost).toEqual([]);
    expect(audit.found.get(2) ?? 0).toBe(0);
    for (const id of queued.slice(0, 20)) expect(await readTask(api.url, id)).toBe(200);
    // New tenants' tasks reach the new shard.
    const fresh: string[] = [];
    await eachLimited(
      Array.from({ length: 300 }, (_, i) => `new-tenant-${i}`),
      8,
      async (tenant) => {
        const sent = await submitForTenant(api.url, tenant, `${tenant}-k`);
        if (sent.status === 202 && sent.id) fresh.push(sent.id);
      },
    );
    expect(fresh.filter((id) => shardOfId(id) === 2).length).toBeGreaterThan(50);
    const after = await allFinished(primaries, fresh, 60_000);
    expect(after.unfinished).toEqual([]);
  });
});
