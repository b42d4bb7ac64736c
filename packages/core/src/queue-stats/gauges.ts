/**
 * The `taskfleet_queue_*` gauges, read from the exporter's in-memory snapshots at scrape time (a
 * scrape never touches the database). With several shards every figure is the sum (ages: the
 * oldest) over the shards, and `taskfleet_queue_stats_stale{shard}` says which shards' last refresh
 * failed — their last known figures are still in the sums.
 */
import { Gauge, type Registry } from 'prom-client';
import { METRICS } from '../metrics.ts';
import type { PriorityName } from '../priority.ts';
import type { QueueDepth } from './depth.ts';

/** What the gauges read (the exporter). */
export interface QueueGaugeSource {
  readonly queues: string[];
  depthByQueue(): Map<string, QueueDepth>;
  readyByPriority(): Map<string, Record<PriorityName, number>>;
  /** The oldest ready task's age now (snapshot age plus the time since). */
  oldestReadyAgeNow(): Map<string, number | null>;
  isPaused(queue: string): boolean;
  concurrencyLimits(): Map<string, number>;
  estimatedQueues(): Set<string>;
  /** Seconds since the stalest shard snapshot was computed; -1: none yet. */
  statsAgeSeconds(): number;
  /** By shard id, whether its last refresh failed; undefined for a one-shard exporter. */
  staleShards(): Map<number, boolean> | undefined;
}

export function registerQueueGauges(registry: Registry, source: QueueGaugeSource): void {
  depthGauges([registry], source);
  settingsGauges([registry], source);
  freshnessGauges([registry], source);
}

/** Depth by state, ready by priority, the oldest ready task's age. */
function depthGauges(registers: Registry[], source: QueueGaugeSource): void {
  new Gauge({
    name: METRICS.queueDepth,
    help: 'Tasks by queue and state (ready, scheduled, retrying = waiting for a retry delay, active, dead_lettered = waiting in the dead-letter queue), summed over the shards. Same value on every replica: aggregate with max.',
    labelNames: ['queue', 'state'],
    registers,
    collect() {
      this.reset();
      for (const [queue, byState] of source.depthByQueue()) for (const [state, n] of Object.entries(byState)) this.set({ queue, state }, n);
    },
  });
  new Gauge({
    name: METRICS.queueReadyByPriority,
    help: 'Ready tasks by queue and priority',
    labelNames: ['queue', 'priority'],
    registers,
    collect() {
      this.reset();
      for (const [queue, byPriority] of source.readyByPriority())
        for (const [priority, n] of Object.entries(byPriority)) this.set({ queue, priority }, n);
    },
  });
  new Gauge({
    name: METRICS.queueOldestReadyAge,
    help: 'Seconds since the oldest ready task of the queue became ready (0 when none)',
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset();
      for (const [queue, age] of source.oldestReadyAgeNow()) this.set({ queue }, age ?? 0);
    },
  });
}

/** What the queues' settings hold back (paused, concurrency limit). */
function settingsGauges(registers: Registry[], source: QueueGaugeSource): void {
  new Gauge({
    name: METRICS.queuePaused,
    help: 'Whether the queue is paused (1) — its ready tasks wait on purpose; the not-consumed alert leaves it out',
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset();
      for (const queue of source.queues) this.set({ queue }, source.isPaused(queue) ? 1 : 0);
    },
  });
  new Gauge({
    name: METRICS.queueConcurrencyLimit,
    help: 'Fleet-wide concurrency limit of the queue (absent when unlimited)',
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset();
      for (const [queue, limit] of source.concurrencyLimits()) this.set({ queue }, limit);
    },
  });
}

/** How exact and how fresh the figures are: estimated queues, the snapshot's age, stale shards. */
function freshnessGauges(registers: Registry[], source: QueueGaugeSource): void {
  new Gauge({
    name: METRICS.queueDepthEstimated,
    help: "Whether the queue's waiting counts (ready, scheduled, retrying, throttled) are estimated (1): it has more waiting tasks than the exact cap (10,000), so they come from a block sample of the job table, within a few percent (docs/operations.md)",
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset();
      const estimated = source.estimatedQueues();
      for (const queue of source.queues) this.set({ queue }, estimated.has(queue) ? 1 : 0);
    },
  });
  new Gauge({
    name: METRICS.queueStatsAge,
    help: 'Age of the queue snapshot behind the queue gauges, in seconds (with several shards: the stalest shard’s; alert if it grows: nobody refreshes it)',
    registers,
    collect() {
      this.set(source.statsAgeSeconds());
    },
  });
  if (!source.staleShards()) return;
  new Gauge({
    name: METRICS.queueStatsStale,
    help: "Whether a shard's queue snapshot could not be refreshed (1): the shard is down or failing; its last known figures stay in the queue gauges' sums",
    labelNames: ['shard'],
    registers,
    collect() {
      this.reset();
      for (const [shard, stale] of source.staleShards() ?? []) this.set({ shard: String(shard) }, stale ? 1 : 0);
    },
  });
}
