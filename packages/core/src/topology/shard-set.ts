/**
 * The shards a process talks to, and how a request picks one: by shard key (rendezvous hashing),
 * by task id (the id carries its shard), or round-robin for keyless tasks. With one shard every
 * choice is that shard and nothing is hashed or stamped: the single-database fleet pays nothing.
 */
import type { PgBoss } from 'pg-boss';
import type { ExecutePrepared } from '../store/executor.ts';
import { executorOf } from '../store/executor.ts';
import { primaryReads, type ReadRouter } from './read-router.ts';
import { rendezvous } from './rendezvous.ts';
import type { ShardSpec } from './shard-map.ts';
import { shardOfId, stampShard } from './task-id.ts';

export interface Shard {
  readonly id: number;
  /** The primary's pg-boss (its pool): writes, claims, transactions. */
  readonly boss: PgBoss;
  /** Statements on the primary. */
  readonly executeSql: ExecutePrepared;
  /** Reads that may go to a replica. */
  readonly reads: ReadRouter;
}

export class ShardSet {
  readonly all: readonly Shard[];
  /** The lowest id: API keys, and tasks whose id names no shard in the map (created before sharding). */
  readonly home: Shard;
  readonly sharded: boolean;
  readonly #ids: number[];
  readonly #byId = new Map<number, Shard>();
  #next = 0;

  constructor(shards: readonly Shard[]) {
    if (shards.length === 0) throw new Error('a shard set needs at least one shard');
    this.all = [...shards].sort((a, b) => a.id - b.id);
    this.home = this.all[0] as Shard;
    this.sharded = this.all.length > 1;
    this.#ids = this.all.map((s) => s.id);
    for (const s of this.all) this.#byId.set(s.id, s);
  }

  /** One pg-boss instance as a one-shard set (tests, and callers that hold a single boss). */
  static of(boss: PgBoss, reads?: ReadRouter): ShardSet {
    const executeSql = executorOf(boss);
    return new ShardSet([{ id: 0, boss, executeSql, reads: reads ?? primaryReads(executeSql) }]);
  }

  byId(id: number): Shard | undefined {
    return this.#byId.get(id);
  }

  /** The shard of a shard key (group/tenant, idempotency or dedupe key, schedule name). */
  forKey(key: string): Shard {
    if (!this.sharded) return this.home;
    return this.#byId.get(rendezvous(key, this.#ids)) as Shard;
  }

  /** A shard for a task with no key: round-robin over the map. */
  any(): Shard {
    if (!this.sharded) return this.home;
    const shard = this.all[this.#next % this.all.length] as Shard;
    this.#next = (this.#next + 1) % this.all.length;
    return shard;
  }

  /** The shard a task id names; the home shard for ids that name none in the map. */
  forTaskId(id: string): Shard {
    if (!this.sharded) return this.home;
    return this.#byId.get(shardOfId(id)) ?? this.home;
  }

  /** The id as created on `shard` (unchanged in a one-shard map). */
  stamp(id: string, shard: Shard): string {
    return this.sharded ? stampShard(id, shard.id) : id;
  }
}

export type { ShardSpec };
