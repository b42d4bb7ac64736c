/**
 * The local topology (`EMBEDDED_PG_SHARDS=2 EMBEDDED_PG_READ_REPLICAS=1 npm start`): two embedded
 * primaries with a real streaming replica each, made by the low-level base-backup API. The replicas
 * are in recovery and stream their primary's rows; a second start reuses every data directory, a
 * replica directory that is no longer a standby is made again, a replica no longer configured has
 * its slot dropped, and stop() leaves no server running.
 */
import { chmod, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runningPostmaster } from '../scripts/lib/embedded-postgres.ts';
import {
  type EmbeddedTopology,
  type EmbeddedTopologyOptions,
  freePortRange,
  startEmbeddedTopology,
} from '../scripts/lib/embedded-topology.ts';
import { useTempDirs } from '../test-support/temp.ts';

const tempDir = useTempDirs();
const running: EmbeddedTopology[] = [];
afterAll(async () => {
  for (const t of running) await t.stop();
});

async function query<T extends pg.QueryResultRow>(url: string, text: string, values?: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `check` for at most 10 s (the assertion after it says what was expected). */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

async function start(options: EmbeddedTopologyOptions, how: Map<string, string>): Promise<EmbeddedTopology> {
  how.clear();
  const topology = await startEmbeddedTopology({ ...options, onStarted: (server, h) => how.set(server.name, h) });
  running.push(topology);
  return topology;
}

describe('embedded topology', () => {
  it('runs 2 primaries with a streaming replica each, reuses them, and stops them all', { timeout: 60_000 }, async () => {
    const dir = await tempDir('tf-topology-');
    await chmod(dir, 0o755);
    const baseDir = path.join(dir, 'pg');
    const basePort = await freePortRange(4);
    const options = {
      baseDir,
      basePort,
      shards: 2,
      replicasPerShard: 1,
      settings: { fsync: 'off', shared_buffers: '32MB', max_connections: 50 },
    };
    const how = new Map<string, string>();
    const first = await start(options, how);
    expect(Object.fromEntries(how)).toEqual({ s0: 'created', s1: 'created', 's0-r1': 'backed-up', 's1-r1': 'backed-up' });
    expect(first.shards.map((s) => [s.primary.port, s.replicas.map((r) => r.port)])).toEqual([
      [basePort, [basePort + 2]],
      [basePort + 1, [basePort + 3]],
    ]);
    expect(first.shards.map((s) => [s.primary.dataDir, s.replicas[0]?.dataDir])).toEqual([
      [baseDir, `${baseDir}-s0-r1`],
      [`${baseDir}-s1`, `${baseDir}-s1-r1`],
    ]);
    const env = first.env();
    expect(env.DATABASE_SHARDS).toBe(`0=${first.shards[0]?.primary.url},1=${first.shards[1]?.primary.url}`);
    expect(env.DATABASE_READ_URLS).toBe(`0=${first.shards[0]?.replicas[0]?.url},1=${first.shards[1]?.replicas[0]?.url}`);

    for (const shard of first.shards) {
      const [primary, replica] = [shard.primary.url, shard.replicas[0]?.url as string];
      expect((await query(primary, 'SELECT pg_is_in_recovery() AS r'))[0]?.r).toBe(false);
      expect((await query(replica, 'SELECT pg_is_in_recovery() AS r'))[0]?.r).toBe(true);
      const streaming = () =>
        query<{ application_name: string; state: string }>(primary, 'SELECT application_name, state FROM pg_stat_replication');
      await eventually(async () => (await streaming())[0]?.state === 'streaming');
      expect(await streaming()).toEqual([{ application_name: `s${shard.id}-r1`, state: 'streaming' }]);
      await query(primary, 'CREATE TABLE IF NOT EXISTS t (shard int)');
      await query(primary, 'INSERT INTO t VALUES ($1)', [shard.id]);
      const seen = () => query<{ shard: number }>(replica, 'SELECT shard FROM t').catch(() => []);
      await eventually(async () => (await seen()).length > 0);
      expect(await seen()).toEqual([{ shard: shard.id }]);
    }

    await first.stop();
    const dirs = first.shards.flatMap((s) => [s.primary, ...s.replicas]);
    for (const server of dirs) {
      expect(server.process.exitCode !== null || server.process.signalCode !== null, server.dataDir).toBe(true);
      expect(await runningPostmaster(server.dataDir), server.dataDir).toBeUndefined();
    }

    // Second start: everything reused; a replica directory that is no longer a standby is made again.
    await rm(path.join(`${baseDir}-s1-r1`, 'standby.signal'));
    const second = await start(options, how);
    expect(Object.fromEntries(how)).toEqual({ s0: 'reused', s1: 'reused', 's0-r1': 'reused', 's1-r1': 'backed-up' });
    expect((await query(second.shards[1]?.replicas[0]?.url as string, 'SELECT shard FROM t'))[0]?.shard).toBe(1);
    await second.stop();

    // Replicas no longer configured: their slots go (an unused slot would keep WAL forever).
    const third = await start({ ...options, replicasPerShard: 0 }, how);
    expect(Object.fromEntries(how)).toEqual({ s0: 'reused', s1: 'reused' });
    for (const shard of third.shards) expect(await query(shard.primary.url, 'SELECT slot_name FROM pg_replication_slots')).toEqual([]);
    await third.stop();
  });
});
