import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../uuid7.ts';
import { rendezvous } from './rendezvous.ts';
import { parseShardMap, shardMapEnv } from './shard-map.ts';
import { shardOfId, stampShard } from './task-id.ts';

describe('rendezvous hashing', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `tenant-${i}`);

  it('spreads keys evenly over the shards', () => {
    const counts = new Map<number, number>();
    for (const k of keys) counts.set(rendezvous(k, [0, 1]), (counts.get(rendezvous(k, [0, 1])) ?? 0) + 1);
    for (const id of [0, 1]) expect((counts.get(id) ?? 0) / keys.length).toBeGreaterThan(0.45);
  });

  it('adding a third shard moves only the keys the new shard wins (~1/3), none between the old two', () => {
    let moved = 0;
    for (const k of keys) {
      const before = rendezvous(k, [0, 1]);
      const after = rendezvous(k, [0, 1, 2]);
      if (after !== before) {
        moved++;
        expect(after).toBe(2);
      }
    }
    expect(moved / keys.length).toBeGreaterThan(0.28);
    expect(moved / keys.length).toBeLessThan(0.4);
  });

  it('is the same for the same key and shard ids, whatever their order', () => {
    expect(rendezvous('acme', [0, 1, 2])).toBe(rendezvous('acme', [2, 0, 1]));
  });
});

describe('shard id in the task id', () => {
  it('round-trips and keeps the UUID version, variant and time prefix', () => {
    const id = uuidv7();
    const stamped = stampShard(id, 200);
    expect(shardOfId(stamped)).toBe(200);
    expect(stamped.slice(0, 21)).toBe(id.slice(0, 21));
    expect(stamped.slice(23)).toBe(id.slice(23));
    expect(stamped).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('shard map', () => {
  it('is DATABASE_URL as shard 0 by default, with bare read URLs as its replicas', () => {
    const { shards, problems } = parseShardMap({
      DATABASE_URL: 'postgres://p/db',
      DATABASE_READ_URLS: 'postgres://r1/db, postgres://r2/db',
    });
    expect(problems).toEqual([]);
    expect(shards).toEqual([{ id: 0, url: 'postgres://p/db', readUrls: ['postgres://r1/db', 'postgres://r2/db'] }]);
  });

  it('reads DATABASE_SHARDS with per-shard replicas and round-trips through shardMapEnv', () => {
    const vars = { DATABASE_SHARDS: '2=postgres://b/db,1=postgres://a/db', DATABASE_READ_URLS: '1=postgres://ra/db,2=postgres://rb/db' };
    const { shards, problems } = parseShardMap(vars);
    expect(problems).toEqual([]);
    expect(shards.map((s) => [s.id, s.url, s.readUrls])).toEqual([
      [1, 'postgres://a/db', ['postgres://ra/db']],
      [2, 'postgres://b/db', ['postgres://rb/db']],
    ]);
    expect(parseShardMap(shardMapEnv(shards)).shards).toEqual(shards);
  });

  it('names each bad entry', () => {
    const { problems } = parseShardMap({
      DATABASE_SHARDS: '1=postgres://a/db,1=postgres://b/db,300=postgres://c/db,postgres://d/db,4=http://e',
      DATABASE_READ_URLS: '9=postgres://r/db,postgres://bare/db',
    });
    expect(problems).toEqual([
      'DATABASE_SHARDS: shard id 300 in "300=postgres://c/db" is out of range: expected 0–255',
      'DATABASE_SHARDS: "postgres://d/db" is not of the form id=postgres://…',
      'DATABASE_SHARDS: "http://e" is not a postgres:// URL',
      'DATABASE_SHARDS: shard id 1 appears twice',
      'DATABASE_READ_URLS: "postgres://bare/db" is not of the form id=postgres://…',
      'DATABASE_READ_URLS: "postgres://r/db" names shard 9, which DATABASE_SHARDS/DATABASE_URL does not define',
    ]);
  });
});
