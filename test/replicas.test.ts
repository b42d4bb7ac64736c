/**
 * Read replicas against a real embedded primary and a real streaming replica of it (made by the
 * embedded topology's base backup): read-your-writes, reads served by the healthy replica, the lag
 * and up metrics, a stopped replica (reads answer from the primary, no error), a restarted one
 * (used again).
 */
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyMigrationsToShards,
  type Config,
  createLogger,
  createMetricsRegistry,
  getTask,
  isObservedReads,
  loadConfig,
  type ObservedReads,
  type OpenShards,
  openShards,
  registerTopologyMetrics,
  replicaName,
} from '@taskfleet/core';
import { type EmbeddedTopology, freePortRange, startEmbeddedTopology } from '../scripts/lib/embedded-topology.ts';
import { useTempDirs } from '../test-support/temp.ts';

const tempDir = useTempDirs();
let topology: EmbeddedTopology | undefined;
let opened: OpenShards | undefined;
let reads: ObservedReads;
let registry: Registry;
let config: Config;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Samples of a metric as { labels → value }. */
async function samples(name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (m) out.set((m[1] as string).replace(/,?role="test"/, ''), Number(m[2]));
  }
  return out;
}

const replica = () => topology?.shards[0]?.replicas[0] as NonNullable<EmbeddedTopology['shards'][0]['replicas'][0]>;

beforeAll(async () => {
  const dir = await tempDir('tf-replicas-');
  await chmod(dir, 0o755); // the servers run as the postgres user when we are root
  topology = await startEmbeddedTopology({
    baseDir: path.join(dir, 'pg'),
    basePort: await freePortRange(2),
    shards: 1,
    replicasPerShard: 1,
    settings: { fsync: 'off', shared_buffers: '32MB', max_connections: 50 },
  });
  config = loadConfig({
    ...topology.env(),
    LOG_LEVEL: 'error',
    DATABASE_REPLICA_CHECK_INTERVAL_MS: '200',
    DATABASE_REPLICA_MAX_LAG_SECONDS: '5',
    DATABASE_CONNECT_TIMEOUT_MS: '2000',
  });
  const logger = createLogger({ role: 'test', config, destination: process.stderr });
  await applyMigrationsToShards(config, logger);
  opened = await openShards({ config, role: 'test', logger, boss: { max: 4, supervise: false, listen: false } });
  const router = opened.shards.home.reads;
  if (!isObservedReads(router)) throw new Error('the home shard has no observed read router');
  reads = router;
  registry = createMetricsRegistry('test');
  registerTopologyMetrics(registry, opened.shards);
}, 60_000);

afterAll(async () => {
  await opened?.stop();
  await topology?.stop();
});

describe('read replicas', () => {
  it('finds a task written on the primary a moment ago (read-your-writes), every time', async () => {
    await until('the replica to be healthy', () => reads.healthyReplicas() === 1);
    const boss = opened?.shards.home.boss;
    for (let i = 0; i < 50; i++) {
      const id = (await boss?.send('noop', { i })) as string;
      const task = await getTask(reads.executeFound, 'noop', id);
      expect(task?.id, `task ${i}`).toBe(id);
    }
  });

  it('serves reads from the healthy replica, and says so in the metrics', async () => {
    await until('the replica to be healthy', () => reads.healthyReplicas() === 1);
    const before = reads.readCounts();
    for (let i = 0; i < 20; i++) await reads.execute('SELECT pg_is_in_recovery() AS standby');
    const after = reads.readCounts();
    expect(after.replica - before.replica).toBe(20);
    expect(after.primary).toBe(before.primary);
    const { rows } = await reads.execute('SELECT pg_is_in_recovery() AS standby');
    expect(rows[0].standby).toBe(true);

    const name = replicaName(replica().url);
    const label = `shard="0",replica="${name}"`;
    const lag = await samples('taskfleet_db_replica_lag_seconds');
    expect(lag.get(label)).toBeGreaterThanOrEqual(0);
    expect(lag.get(label)).toBeLessThanOrEqual(config.database.replicas.maxLagSeconds);
    expect((await samples('taskfleet_db_replica_up')).get(label)).toBe(1);
    expect((await samples('taskfleet_db_reads_total')).get('shard="0",target="replica"')).toBe(reads.readCounts().replica);
    expect(name).toBe(`127.0.0.1:${replica().port}`);
  });

  it('does not count an idle primary as lag', async () => {
    await until('the replica to be healthy', () => reads.healthyReplicas() === 1);
    await new Promise((r) => setTimeout(r, 1500)); // several probes with nothing written
    const [status] = reads.replicas();
    expect(status?.healthy).toBe(true);
    expect(status?.lagSeconds).toBeLessThan(1);
  });

  it('answers from the primary, without an error, while the replica is stopped; uses it again once restarted', async () => {
    await until('the replica to be healthy', () => reads.healthyReplicas() === 1);
    const boss = opened?.shards.home.boss;
    const id = (await boss?.send('noop', { stopped: true })) as string;
    await replica().stop();
    // At once (before any probe notices): the replica's error turns into a primary read.
    const before = reads.readCounts();
    const { rows } = await reads.execute('SELECT pg_is_in_recovery() AS standby');
    expect(rows[0].standby).toBe(false);
    expect((await getTask(reads.executeFound, 'noop', id))?.id).toBe(id);
    await until('a probe to mark the replica down', () => reads.replicas()[0]?.up === false);
    expect(reads.healthyReplicas()).toBe(0);
    for (let i = 0; i < 10; i++) await reads.execute('SELECT 1');
    expect(reads.readCounts().primary - before.primary).toBe(12);
    expect(reads.readCounts().replica).toBe(before.replica);
    const label = `shard="0",replica="${replicaName(replica().url)}"`;
    expect((await samples('taskfleet_db_replica_up')).get(label)).toBe(0);
    expect((await samples('taskfleet_db_replica_lag_seconds')).has(label)).toBe(false);

    await topology?.restart(replica());
    await until('the restarted replica to be healthy', () => reads.healthyReplicas() === 1);
    const again = reads.readCounts().replica;
    const { rows: after } = await reads.execute('SELECT pg_is_in_recovery() AS standby');
    expect(after[0].standby).toBe(true);
    expect(reads.readCounts().replica).toBe(again + 1);
    expect((await samples('taskfleet_db_replica_up')).get(label)).toBe(1);
  });
});
