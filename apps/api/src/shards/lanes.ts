/**
 * What the API keeps per shard (a "lane"): its group committer (a task is inserted on its own
 * shard's primary), the waker that NOTIFYs that shard's workers, the depth shedder, transactions for
 * tasks with dependencies, and the cached reads behind the queue listing and the dashboard. With one
 * shard there is one lane, the home lane, and the request path picks it without hashing anything.
 */
import {
  type Config,
  inTransaction,
  insertTasks,
  type Logger,
  type QueueDepthRow,
  QueueWaker,
  type Shard,
  type ShardSet,
  type ThroughputRow,
  throughputPerMinute,
  type Wake,
} from '@taskfleet/core';
import type { Transaction } from '../enqueue/dependencies.ts';
import { GroupCommitter } from '../enqueue/group-commit.ts';
import type { ApiMetrics } from '../metrics.ts';
import { shardFailure } from '../problem.ts';
import { CachedValue, DepthShedder, queueDepthCache } from '../queue-stats.ts';

export interface ShardLane {
  shard: Shard;
  committer: GroupCommitter;
  waker: QueueWaker;
  /** Wakes a queue's workers on this shard after its new tasks commit. */
  wake: Wake;
  shedder: DepthShedder;
  /** One transaction on this shard's primary (tasks with `dependsOn`). */
  transaction: Transaction;
  /** Queue depths (GET /v1/queues), from a replica when one is healthy. */
  depths: CachedValue<QueueDepthRow[]>;
  /** Tasks created and finished per minute (the dashboard), from a replica when one is healthy. */
  throughput: CachedValue<ThroughputRow[]>;
}

export class Lanes {
  readonly shards: ShardSet;
  readonly all: readonly ShardLane[];
  readonly home: ShardLane;
  readonly sharded: boolean;
  /** By shard id (0–255). */
  readonly #byId: (ShardLane | undefined)[] = [];

  constructor(shards: ShardSet, make: (shard: Shard) => ShardLane) {
    this.shards = shards;
    this.sharded = shards.sharded;
    this.all = shards.all.map(make);
    for (const lane of this.all) this.#byId[lane.shard.id] = lane;
    this.home = this.#byId[shards.home.id] as ShardLane;
  }

  of(shard: Shard): ShardLane {
    return this.#byId[shard.id] ?? this.home;
  }

  /** The lane of the shard a task id names (home with one shard, or for ids that name none). */
  forTaskId(id: string): ShardLane {
    return this.sharded ? this.of(this.shards.forTaskId(id)) : this.home;
  }

  /**
   * A failure of a statement on `shard`, as the API answers it: with several shards a 503 naming
   * the shard when its database cannot be reached; with one, the error itself (the error handler's
   * plain 503, as before shards).
   */
  failure(shard: Shard, err: unknown): unknown {
    return this.sharded ? shardFailure(shard, err) : err;
  }

  /** Rows waiting for a group commit, every shard. */
  get waiting(): number {
    let n = 0;
    for (const lane of this.all) n += lane.committer.waiting;
    return n;
  }

  /** Flush pending group commits (refusing new ones) and wait for the wake-ups in flight. */
  async close(): Promise<void> {
    await Promise.all(this.all.map((l) => l.committer.close()));
    await Promise.all(this.all.map((l) => l.waker.idle()));
  }
}

export function createLanes(deps: { config: Config; shards: ShardSet; logger: Logger; metrics: () => ApiMetrics }): Lanes {
  const { config, shards } = deps;
  const { groupCommit } = config.api;
  return new Lanes(shards, (shard) => {
    const logger = shards.sharded ? deps.logger.child({ shard: shard.id }) : deps.logger;
    const { executeSql } = shard;
    // One NOTIFY per queue in flight, after the inserts commit (store/wake.ts).
    const waker = new QueueWaker(executeSql, (err, queue) => logger.warn({ err, queue }, 'waking workers failed; they poll'));
    const committer = new GroupCommitter({
      insert: (queue, rows) => insertTasks(executeSql, queue, rows, waker.wake),
      maxRows: groupCommit.maxRows,
      windowMs: groupCommit.windowMs,
      concurrency: groupCommit.concurrency,
      queueLimit: config.api.requestQueueSize,
      timeoutMs: config.api.requestTimeoutMs,
      onStatement: ({ rows, ok, seconds }) => {
        const metrics = deps.metrics();
        metrics.groupCommitRows.observe(rows);
        metrics.groupCommitSeconds.observe({ outcome: ok ? 'ok' : 'error' }, seconds);
      },
    });
    return {
      shard,
      committer,
      waker,
      wake: waker.wake,
      // Depth shedding counts on the primary: it decides whether to take writes there.
      shedder: new DepthShedder(executeSql, config.api.shedReadyDepth, logger),
      transaction: <T>(work: Parameters<typeof inTransaction<T>>[1]) => inTransaction(shard.boss, work),
      depths: queueDepthCache(shard.reads.execute),
      throughput: new CachedValue(() => throughputPerMinute(shard.reads.execute), 10_000),
    };
  });
}
