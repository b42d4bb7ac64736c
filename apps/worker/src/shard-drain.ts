/**
 * Everything a worker replica runs against one shard: a fetch loop per queue (claims), the settler
 * (completions batched, successors claimed), the job runner and owner (failures, retries, progress
 * and deferrals written to this shard), heartbeats, the presence row and dead-replica rescue, and
 * the shard's LISTEN connection. The slots, handlers, events and metrics are the replica's, shared
 * by its shards (worker.ts). A shard that is down only stalls its own loops: they back off and
 * claim again when it answers (queue-loop.ts), its LISTEN is re-established (listen.ts), and the
 * jobs it was running come back through pg-boss's expiry or a live replica's rescue.
 */
import {
  type ClaimedJob,
  claimJobs,
  type Completion,
  type Config,
  completeAndClaim,
  hasReadyJobs,
  type Logger,
  type Shard,
} from '@taskfleet/core';
import type { WorkerEvents } from './events.ts';
import type { FairShare } from './fair-share.ts';
import type { Handlers } from './handlers/index.ts';
import { Heartbeats } from './heartbeats.ts';
import { JobOwner } from './job-owner.ts';
import { JobRunner } from './job-runner.ts';
import { type Listening, listenForWork } from './listen.ts';
import { Presence } from './presence.ts';
import { QueueLoop } from './queue-loop.ts';
import { Rescuer } from './rescuer.ts';
import { Settler } from './settler.ts';
import type { Slots } from './slots.ts';

export interface ShardDrainDeps {
  shard: Shard;
  /** Whether the replica drains several shards (then the shard id is on events and a fair share applies). */
  share: FairShare | undefined;
  config: Config;
  queues: string[];
  slots: Slots;
  handlers: Handlers;
  events: WorkerEvents;
  /** Already carrying the shard id when there are several. */
  logger: Logger;
  /** The worker process's id on the jobs it claims and on its presence rows (the same on every shard). */
  incarnation: string;
  /** The replica's name in `taskfleet.workers`. */
  replica: string;
}

export class ShardDrain {
  readonly id: number;
  readonly loops: Map<string, QueueLoop>;
  readonly runner: JobRunner;
  readonly owner: JobOwner;
  readonly #d: ShardDrainDeps;
  readonly #heartbeats: Heartbeats;
  readonly #presence: Presence;
  #listening: Listening | undefined;

  constructor(d: ShardDrainDeps) {
    this.#d = d;
    const { shard, config, slots, events, logger, incarnation } = d;
    this.id = shard.id;
    const { executeSql, boss } = shard;
    const at = d.share ? { shard: shard.id } : {};
    const settle = (queue: string, items: Completion[], claim: number) =>
      completeAndClaim(executeSql, queue, items, claim, undefined, incarnation);
    const settler = new Settler(settle, config.worker.settleBatch, {
      limitFor: (queue, freed) => this.loops.get(queue)?.refillLimit(freed) ?? 0,
      accept: (queue, jobs, asked) => this.loops.get(queue)?.accept(jobs, asked),
    });
    this.runner = new JobRunner({ config, boss, handlers: d.handlers, settler, events, logger, ...at });
    this.owner = new JobOwner({ slots, runner: this.runner, settler, logger });
    const share = d.share?.lane(shard.id, d.queues, () => this.owner.held);
    this.loops = new Map(
      d.queues.map((queue): [string, QueueLoop] => [
        queue,
        new QueueLoop({
          queue,
          claim: (q, limit, minPriority) => claimJobs(executeSql, q, limit, minPriority, incarnation),
          slots,
          events,
          fetchBatch: config.worker.fetchBatch,
          pollIntervalMs: config.worker.pollIntervalMs,
          take: (job: ClaimedJob) => this.owner.take(queue, job),
          ...at,
          ...(share ? { share, probe: (q: string) => hasReadyJobs(executeSql, q) } : {}),
        }),
      ]),
    );
    this.#heartbeats = new Heartbeats({ boss, runner: this.runner, logger });
    const { presenceIntervalMs, deadAfterSeconds } = config.worker;
    const rescuer = new Rescuer({
      boss,
      executeSql,
      incarnation,
      deadAfterSeconds,
      presenceIntervalMs,
      runner: this.runner,
      events,
      logger,
    });
    this.#presence = new Presence({
      executeSql,
      logger,
      id: d.replica,
      incarnation,
      queues: d.queues,
      // The replica's slots, the same row on every shard (a reader over shards counts it once, by incarnation).
      concurrency: slots.total,
      active: () => slots.active,
      intervalMs: presenceIntervalMs,
      afterBeat: (ok) => rescuer.afterBeat(ok),
    });
  }

  /** LISTEN, publish presence (before the first claim stamps this incarnation on a job), then claim. */
  async start(): Promise<void> {
    const { shard, logger } = this.#d;
    this.#listening = await listenForWork(shard.boss, this.loops, this.runner, logger);
    await this.#presence.start();
    this.#heartbeats.start();
    for (const loop of this.loops.values()) loop.start();
  }

  /** Stop claiming (the jobs held still run and settle). */
  async stopClaiming(): Promise<void> {
    await Promise.all([...this.loops.values()].map((l) => l.stop()));
  }

  /** After the drain: remove the presence row, stop heartbeats, close LISTEN. */
  async close(): Promise<void> {
    await this.#presence.stop();
    this.#heartbeats.stop();
    await this.#listening?.close();
  }
}
