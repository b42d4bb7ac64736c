/**
 * A fleet started while one of its shards' primaries is down (a new replica scaled out, or a
 * restart, during that shard's outage): the API and worker processes still start and serve the
 * other shard; the down shard's tenants get 503 + Retry-After; once its primary answers, its tasks
 * are taken and run without restarting anything.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrationsToShards, createLogger, loadConfig, rendezvous } from '@taskfleet/core';
import { type EmbeddedTopology, freePortRange, startEmbeddedTopology } from '../scripts/lib/embedded-topology.ts';
import { createLedgerTable, Fleet, LEDGER_MODULE } from '../test-support/chaos.ts';
import { allFinished, poolsFor, submitForTenant } from '../test-support/topology.ts';

let dir: string | undefined;
let topology: EmbeddedTopology | undefined;
let fleet: Fleet | undefined;
let pools: Map<number, pg.Pool> | undefined;

afterAll(async () => {
  await fleet?.stop();
  for (const pool of pools?.values() ?? []) await pool.end();
  await topology?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('starting with a shard down', () => {
  it('serves the other shard at once and the down one as soon as it answers', { timeout: 180_000 }, async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tf-topology-start-'));
    await chmod(dir, 0o755);
    const topo = await startEmbeddedTopology({
      baseDir: path.join(dir, 'pg'),
      basePort: await freePortRange(2),
      shards: 2,
      replicasPerShard: 0,
    });
    topology = topo;
    const config = loadConfig({ ...topo.env(), TASK_MODULES: LEDGER_MODULE, LOG_LEVEL: 'warn' });
    await applyMigrationsToShards(config, createLogger({ role: 'test', config }));
    pools = poolsFor(new Map(topo.specs.map((s) => [s.id, s.url])));
    const home = pools.get(0) as pg.Pool;
    await createLedgerTable((text, values) => home.query(text, values));
    const downServer = topo.shards[1]?.primary;
    if (!downServer) throw new Error('no shard 1');
    await downServer.stop();

    const f = new Fleet({ ...topo.env(), DATABASE_CONNECT_TIMEOUT_MS: '1000', WORKER_POLL_INTERVAL_MS: '200' });
    fleet = f;
    const api = await f.addApi();
    await f.addWorker();
    const tenants = Array.from({ length: 20 }, (_, i) => `tenant-${i}`);
    const onDown = tenants.filter((t) => rendezvous(t, [0, 1]) === 1);
    const onUp = tenants.filter((t) => rendezvous(t, [0, 1]) === 0);
    expect(onDown.length).toBeGreaterThan(0);
    expect(onUp.length).toBeGreaterThan(0);

    const upIds: string[] = [];
    for (const [i, tenant] of onUp.entries()) {
      const sent = await submitForTenant(api.url, tenant, `up-${i}`);
      expect(sent.status).toBe(202);
      upIds.push(sent.id as string);
    }
    for (const [i, tenant] of onDown.entries()) {
      const sent = await submitForTenant(api.url, tenant, `down-${i}`);
      expect(sent.status).toBe(503);
      expect(sent.retryAfter).not.toBeNull();
    }
    const upAudit = await allFinished(new Map([[0, home]]), upIds, 30_000);
    expect(upAudit.unfinished).toEqual([]);
    expect(upAudit.lost).toEqual([]);

    // The primary comes back: no restart of the fleet; its tenants' tasks are taken and run.
    await topo.restart(downServer);
    const downIds: string[] = [];
    const deadline = Date.now() + 60_000;
    for (const [i, tenant] of onDown.entries()) {
      for (;;) {
        const sent = await submitForTenant(api.url, tenant, `down-again-${i}`);
        if (sent.status === 202) {
          downIds.push(sent.id as string);
          break;
        }
        expect(sent.status).toBe(503);
        if (Date.now() > deadline) throw new Error(`shard 1 still refused ${tenant} a minute after it came back`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const downAudit = await allFinished(pools, downIds, 60_000);
    expect(downAudit.unfinished).toEqual([]);
    expect(downAudit.lost).toEqual([]);
    expect(downAudit.found.get(1)).toBe(downIds.length);
    expect(f.unexpectedExits()).toEqual([]);
  });
});
