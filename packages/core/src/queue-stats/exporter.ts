/**
 * Queue gauges for Prometheus, fresh to QUEUE_STATS_INTERVAL_SECONDS and cheap for the database:
 * every interval each replica (API and worker alike) first tries to claim the shared snapshot row;
 * the one that wins runs the counting query and stores the result; every replica then reads the
 * snapshot and serves it from memory. A scrape never touches the database, and all replicas export
 * the same numbers — rules aggregate them with `max by (queue, …)` (docs/runbook.md).
 *
 * Shards: pass `shards` (a ShardSet, or a list of `{ id, executeSql }`) instead of `executeSql`.
 * Each shard keeps its own snapshot row, claimed and refreshed on that shard (the refresh claim is
 * elected per database), and the gauges, `depthByQueue()`, `readyByPriority()` and the rest are the
 * sums over the shards (oldest-ready ages: the oldest). A shard whose refresh fails keeps
 * contributing its last known figures — a sum that drops a shard would look like a drain — and is
 * marked stale: `taskfleet_queue_stats_stale{shard}` is 1 and `taskfleet_queue_stats_age_seconds`
 * (the stalest shard's age) grows, so the stale-snapshot alert fires.
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { PriorityName } from '../priority.ts';
import type { ExecuteSql } from '../store/executor.ts';
import { listQueueSettingsAndFullRates, type QueueSettings } from '../store/queue-settings.ts';
import { claimQueueStatsRefresh, computeQueueStats, type QueueStatsRow, readQueueStats, storeQueueStats } from '../store/queue-stats.ts';
import { taskNames } from '../tasks/registry.ts';
import { depthOf, oldestReadyOf, type QueueDepth, readyByPriorityOf, sumDepths } from './depth.ts';
import { type QueueGaugeSource, registerQueueGauges } from './gauges.ts';

export { QUEUE_DEPTH_STATES, type QueueDepth } from './depth.ts';

export interface QueueSnapshot {
  computedAt: Date | null;
  rows: QueueStatsRow[];
}

/** A database the exporter reads a snapshot from (a `Shard` of a ShardSet is one). */
export interface QueueStatsSource {
  id: number;
  executeSql: ExecuteSql;
}

export interface QueueStatsExporterOptions {
  /** The one database (a one-shard fleet). Give this or `shards`. */
  executeSql?: ExecuteSql;
  /** Every shard: the gauges are the sums over them. */
  shards?: { readonly all: readonly QueueStatsSource[] } | readonly QueueStatsSource[];
  registry: Registry;
  logger: Logger;
  intervalSeconds: number;
  /** Queues to always export (zeros when empty), e.g. every registered task type. */
  queues: string[];
  /** Keep each new snapshot's depth by queue for this long (the dashboard's chart). @defaultValue 0 */
  historySeconds?: number;
}

/** One snapshot's depth by queue, as kept in {@link QueueStatsExporter.history}. */
export interface QueueDepthSample {
  t: string;
  queues: Record<string, QueueDepth>;
}

/** One shard's last snapshot, and the flow-control settings read with it (paused queues are not "unconsumed"). */
interface ShardStats {
  id: number;
  executeSql: ExecuteSql;
  snapshot: QueueSnapshot;
  settings: Map<string, QueueSettings>;
  rateFull: Set<string>;
  /** The last refresh failed: the figures are the last known ones. */
  stale: boolean;
}

function sourcesOf(o: QueueStatsExporterOptions): readonly QueueStatsSource[] {
  if (o.shards) {
    const list = 'all' in o.shards ? o.shards.all : (o.shards as readonly QueueStatsSource[]);
    if (list.length > 0) return list;
  }
  if (o.executeSql) return [{ id: 0, executeSql: o.executeSql }];
  throw new Error('the queue stats exporter needs `executeSql` or `shards`');
}

const ageOf = (s: ShardStats, now: number): number | null =>
  s.snapshot.computedAt ? (now - s.snapshot.computedAt.getTime()) / 1000 : null;

export class QueueStatsExporter implements QueueGaugeSource {
  readonly #o: QueueStatsExporterOptions;
  readonly #shards: ShardStats[];
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  readonly #history: QueueDepthSample[] = [];
  /** How many times this replica computed a snapshot (tests check that replicas share). */
  computations = 0;

  constructor(options: QueueStatsExporterOptions) {
    this.#o = options;
    this.#shards = sourcesOf(options).map(({ id, executeSql }) => ({
      id,
      executeSql,
      snapshot: { computedAt: null, rows: [] },
      settings: new Map(),
      rateFull: new Set(),
      stale: false,
    }));
    registerQueueGauges(options.registry, this);
  }

  get queues(): string[] {
    return this.#o.queues;
  }

  /** Ready tasks by priority name for every exported queue (dead-letter queues left out). */
  readyByPriority(): Map<string, Record<PriorityName, number>> {
    return readyByPriorityOf(
      this.#shards.flatMap((s) => s.snapshot.rows),
      this.#o.queues,
    );
  }

  /** Queues whose waiting counts in a snapshot are estimated (more waiting than the exact cap). */
  estimatedQueues(): Set<string> {
    return new Set(this.#shards.flatMap((s) => s.snapshot.rows.filter((r) => r.estimated).map((r) => r.queue)));
  }

  /** Age of each exported queue's oldest ready task when its snapshot was computed (null: none ready). */
  oldestReadyAgeSeconds(): Map<string, number | null> {
    return oldestReadyOf(
      this.#shards.flatMap((s) => s.snapshot.rows.map((row) => ({ row, drift: 0 }))),
      this.#o.queues,
    );
  }

  /** The same, aged to now (each shard's snapshot by the time since it was computed). */
  oldestReadyAgeNow(): Map<string, number | null> {
    const now = Date.now();
    return oldestReadyOf(
      this.#shards.flatMap((s) => s.snapshot.rows.map((row) => ({ row, drift: ageOf(s, now) ?? 0 }))),
      this.#o.queues,
    );
  }

  /** Paused on any shard (the setting is written to every shard). */
  isPaused(queue: string): boolean {
    return this.#shards.some((s) => s.settings.get(queue)?.paused);
  }

  /** Each limited queue's concurrency limit (the first shard that has one: the setting is the fleet's). */
  concurrencyLimits(): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.#shards)
      for (const [queue, settings] of s.settings)
        if (settings.concurrency !== null && !out.has(queue)) out.set(queue, settings.concurrency);
    return out;
  }

  statsAgeSeconds(): number {
    const now = Date.now();
    const ages = this.#shards.map((s) => ageOf(s, now)).filter((a): a is number => a !== null);
    return ages.length ? Math.max(...ages) : -1;
  }

  staleShards(): Map<number, boolean> | undefined {
    if (this.#shards.length < 2) return undefined;
    return new Map(this.#shards.map((s) => [s.id, s.stale]));
  }

  /** Depth by state for every exported queue, summed over the shards (each throttled by its own settings). */
  depthByQueue(): Map<string, QueueDepth> {
    const { queues } = this.#o;
    const depths = this.#shards.map((s) => depthOf({ rows: s.snapshot.rows, settings: s.settings, rateFull: s.rateFull }, queues));
    return depths.length === 1 ? (depths[0] as Map<string, QueueDepth>) : sumDepths(depths, queues);
  }

  /** The snapshots as one: every shard's rows, computed at the stalest shard's time (null: none yet). */
  get snapshot(): QueueSnapshot {
    if (this.#shards.length === 1) return (this.#shards[0] as ShardStats).snapshot;
    const times = this.#shards.map((s) => s.snapshot.computedAt?.getTime()).filter((t): t is number => t !== undefined);
    return {
      computedAt: times.length ? new Date(Math.min(...times)) : null,
      rows: this.#shards.flatMap((s) => s.snapshot.rows),
    };
  }

  /** Claim-and-compute if a shared snapshot is due, then read it, on every shard. Errors are logged, never thrown. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const changed = await Promise.all(this.#shards.map((s) => this.#refreshShard(s)));
    if (changed.some(Boolean)) this.#record();
  }

  /** Refresh one shard's snapshot; true when a new one was read. */
  async #refreshShard(s: ShardStats): Promise<boolean> {
    const { intervalSeconds, logger } = this.#o;
    const { executeSql } = s;
    try {
      if (await claimQueueStatsRefresh(executeSql, intervalSeconds)) {
        await storeQueueStats(executeSql, await computeQueueStats(executeSql));
        this.computations++;
      }
      ({ settings: s.settings, rateFull: s.rateFull } = await listQueueSettingsAndFullRates(executeSql));
      const stored = await readQueueStats(executeSql);
      s.stale = false;
      if (!stored) return false;
      const previous = s.snapshot.computedAt?.getTime();
      s.snapshot = stored;
      return Boolean(stored.computedAt && stored.computedAt.getTime() !== previous);
    } catch (err) {
      s.stale = true;
      const at = this.#shards.length > 1 ? { shard: s.id } : {};
      logger.warn({ err, ...at }, 'queue stats refresh failed; serving the last snapshot');
      return false;
    }
  }

  #record(): void {
    const keepMs = (this.#o.historySeconds ?? 0) * 1000;
    const at = this.snapshot.computedAt;
    if (keepMs <= 0 || !at) return;
    this.#history.push({ t: at.toISOString(), queues: Object.fromEntries(this.depthByQueue()) });
    while (this.#history.length && Date.parse((this.#history[0] as QueueDepthSample).t) < Date.now() - keepMs) this.#history.shift();
  }

  /** Depth by queue of each snapshot read in the last `historySeconds`, oldest first. */
  get history(): readonly QueueDepthSample[] {
    return this.#history;
  }

  start(): void {
    if (this.#timer) return;
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#o.intervalSeconds * 1000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#refreshing;
  }
}

/**
 * The exporter every API and worker replica runs, configured from the fleet config: `shards` (the
 * process's ShardSet) for the sums over every shard, or `executeSql` for one database.
 */
export function createQueueStatsExporter(deps: {
  config: Config;
  executeSql?: ExecuteSql;
  shards?: QueueStatsExporterOptions['shards'];
  registry: Registry;
  logger: Logger;
  historySeconds?: number;
}): QueueStatsExporter {
  return new QueueStatsExporter({
    ...(deps.executeSql ? { executeSql: deps.executeSql } : {}),
    ...(deps.shards ? { shards: deps.shards } : {}),
    registry: deps.registry,
    logger: deps.logger,
    intervalSeconds: deps.config.queueStatsIntervalSeconds,
    queues: taskNames(),
    historySeconds: deps.historySeconds ?? 0,
  });
}
