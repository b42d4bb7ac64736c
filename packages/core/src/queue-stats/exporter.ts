/**
 * Queue gauges for Prometheus, fresh to QUEUE_STATS_INTERVAL_SECONDS and cheap for the database:
 * every interval each replica (API and worker alike) first tries to claim the shared snapshot row;
 * the one that wins runs the counting query and stores the result; every replica then reads the
 * snapshot and serves it from memory. A scrape never touches the database, and all replicas export
 * the same numbers — rules aggregate them with `max by (queue, …)` (docs/runbook.md).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { METRICS } from '../metrics.ts';
import { PRIORITY_NAMES, type PriorityName, priorityName } from '../priority.ts';
import { isDeadLetterQueue } from '../queues.ts';
import { taskNames } from '../tasks/registry.ts';
import type { ExecuteSql } from '../store/executor.ts';
import { listQueueSettingsAndFullRates, type QueueSettings } from '../store/queue-settings.ts';
import { claimQueueStatsRefresh, computeQueueStats, type QueueStatsRow, readQueueStats, storeQueueStats } from '../store/queue-stats.ts';

/**
 * `throttled`: ready tasks held back by the queue's own settings — paused, at its fleet-wide
 * concurrency (running ≥ limit) or with its rate window full. They wait on purpose and more worker
 * replicas would not start them, so they are not `ready` (the worker autoscaler and the backlog
 * alert look at `ready`). Tasks held only by groupConcurrency stay `ready`: other groups' tasks may
 * be among them.
 */
export const QUEUE_DEPTH_STATES = ['ready', 'scheduled', 'retrying', 'active', 'dead_lettered', 'throttled'] as const;

export interface QueueSnapshot {
  computedAt: Date | null;
  rows: QueueStatsRow[];
}

export interface QueueStatsExporterOptions {
  executeSql: ExecuteSql;
  registry: Registry;
  logger: Logger;
  intervalSeconds: number;
  /** Queues to always export (zeros when empty), e.g. every registered task type. */
  queues: string[];
  /** Keep each new snapshot's depth by queue for this long (the dashboard's chart). @defaultValue 0 */
  historySeconds?: number;
}

export type QueueDepth = Record<(typeof QUEUE_DEPTH_STATES)[number], number>;

/** One snapshot's depth by queue, as kept in {@link QueueStatsExporter.history}. */
export interface QueueDepthSample {
  t: string;
  queues: Record<string, QueueDepth>;
}

export class QueueStatsExporter {
  readonly #o: QueueStatsExporterOptions;
  #snapshot: QueueSnapshot = { computedAt: null, rows: [] };
  /** The queues' flow-control settings, read with every snapshot (paused queues are not "unconsumed"). */
  #settings = new Map<string, QueueSettings>();
  #rateFull = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  readonly #history: QueueDepthSample[] = [];
  /** How many times this replica computed the snapshot (tests check that replicas share). */
  computations = 0;

  constructor(options: QueueStatsExporterOptions) {
    this.#o = options;
    const exporter = this;
    const registers = [options.registry];
    new Gauge({
      name: METRICS.queueDepth,
      help: 'Tasks by queue and state (ready, scheduled, retrying = waiting for a retry delay, active, dead_lettered = waiting in the dead-letter queue). Same value on every replica: aggregate with max.',
      labelNames: ['queue', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [queue, byState] of exporter.depthByQueue())
          for (const [state, n] of Object.entries(byState)) this.set({ queue, state }, n);
      },
    });
    new Gauge({
      name: METRICS.queueReadyByPriority,
      help: 'Ready tasks by queue and priority',
      labelNames: ['queue', 'priority'],
      registers,
      collect() {
        this.reset();
        for (const [queue, byPriority] of exporter.readyByPriority())
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
        const drift = exporter.#snapshot.computedAt ? (Date.now() - exporter.#snapshot.computedAt.getTime()) / 1000 : 0;
        for (const [queue, age] of exporter.oldestReadyAgeSeconds()) this.set({ queue }, age === null ? 0 : age + drift);
      },
    });
    new Gauge({
      name: METRICS.queuePaused,
      help: 'Whether the queue is paused (1) — its ready tasks wait on purpose; the not-consumed alert leaves it out',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const queue of exporter.#o.queues) this.set({ queue }, exporter.#settings.get(queue)?.paused ? 1 : 0);
      },
    });
    new Gauge({
      name: METRICS.queueConcurrencyLimit,
      help: 'Fleet-wide concurrency limit of the queue (absent when unlimited)',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const [queue, s] of exporter.#settings) if (s.concurrency !== null) this.set({ queue }, s.concurrency);
      },
    });
    new Gauge({
      name: METRICS.queueDepthEstimated,
      help: "Whether the queue's waiting counts (ready, scheduled, retrying, throttled) are estimated (1): it has more waiting tasks than the exact cap (10,000), so they come from a block sample of the job table, within a few percent (docs/operations.md)",
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        const estimated = exporter.estimatedQueues();
        for (const queue of exporter.#o.queues) this.set({ queue }, estimated.has(queue) ? 1 : 0);
      },
    });
    new Gauge({
      name: METRICS.queueStatsAge,
      help: 'Age of the queue snapshot behind the queue gauges, in seconds (alert if it grows: nobody refreshes it)',
      registers,
      collect() {
        this.set(exporter.#snapshot.computedAt ? (Date.now() - exporter.#snapshot.computedAt.getTime()) / 1000 : -1);
      },
    });
  }

  /** Ready tasks by priority name for every exported queue (dead-letter queues left out). */
  readyByPriority(): Map<string, Record<PriorityName, number>> {
    const zero = () => Object.fromEntries(PRIORITY_NAMES.map((p) => [p, 0])) as Record<PriorityName, number>;
    const out = new Map(this.#o.queues.map((q) => [q, zero()]));
    for (const r of this.#snapshot.rows) {
      if (isDeadLetterQueue(r.queue)) continue;
      const byPriority = out.get(r.queue) ?? zero();
      byPriority[priorityName(r.priority)] += r.ready;
      out.set(r.queue, byPriority);
    }
    return out;
  }

  /** Queues whose waiting counts in the snapshot are estimated (more waiting than the exact cap). */
  estimatedQueues(): Set<string> {
    return new Set(this.#snapshot.rows.filter((r) => r.estimated).map((r) => r.queue));
  }

  /** Age of each exported queue's oldest ready task when the snapshot was computed (null: none ready). */
  oldestReadyAgeSeconds(): Map<string, number | null> {
    const out = new Map<string, number | null>(this.#o.queues.map((q) => [q, null]));
    for (const r of this.#snapshot.rows) {
      if (isDeadLetterQueue(r.queue) || r.oldestReadyAgeSeconds === null) continue;
      out.set(r.queue, Math.max(out.get(r.queue) ?? 0, r.oldestReadyAgeSeconds));
    }
    return out;
  }

  /** Depth by queue of each snapshot read in the last `historySeconds`, oldest first. */
  get history(): readonly QueueDepthSample[] {
    return this.#history;
  }

  /** Depth by state for every exported queue (dead-letter queues fold into their parent's `dead_lettered`). */
  depthByQueue(): Map<string, QueueDepth> {
    const out = new Map(this.#o.queues.map((q) => [q, { ready: 0, scheduled: 0, retrying: 0, active: 0, dead_lettered: 0, throttled: 0 }]));
    for (const r of this.#snapshot.rows) {
      if (isDeadLetterQueue(r.queue)) {
        const parent = out.get(r.queue.slice(0, -'.dead'.length));
        if (parent) parent.dead_lettered += r.ready + r.scheduled + r.retrying + r.active;
        continue;
      }
      const q = out.get(r.queue) ?? { ready: 0, scheduled: 0, retrying: 0, active: 0, dead_lettered: 0, throttled: 0 };
      q.ready += r.ready;
      q.scheduled += r.scheduled;
      q.retrying += r.retrying;
      q.active += r.active;
      out.set(r.queue, q);
    }
    for (const [queue, q] of out) {
      const s = this.#settings.get(queue);
      const held = s && (s.paused || (s.concurrency !== null && q.active >= s.concurrency) || this.#rateFull.has(queue));
      if (!held) continue;
      q.throttled = q.ready;
      q.ready = 0;
    }
    return out;
  }

  get snapshot(): QueueSnapshot {
    return this.#snapshot;
  }

  /** Claim-and-compute if the shared snapshot is due, then read it. Errors are logged, never thrown. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const { executeSql, intervalSeconds, logger } = this.#o;
    try {
      if (await claimQueueStatsRefresh(executeSql, intervalSeconds)) {
        await storeQueueStats(executeSql, await computeQueueStats(executeSql));
        this.computations++;
      }
      ({ settings: this.#settings, rateFull: this.#rateFull } = await listQueueSettingsAndFullRates(executeSql));
      const stored = await readQueueStats(executeSql);
      if (stored) {
        const previous = this.#snapshot.computedAt?.getTime();
        this.#snapshot = stored;
        if (stored.computedAt && stored.computedAt.getTime() !== previous) this.#record(stored.computedAt);
      }
    } catch (err) {
      logger.warn({ err }, 'queue stats refresh failed; serving the last snapshot');
    }
  }

  #record(at: Date): void {
    const keepMs = (this.#o.historySeconds ?? 0) * 1000;
    if (keepMs <= 0) return;
    this.#history.push({ t: at.toISOString(), queues: Object.fromEntries(this.depthByQueue()) });
    while (this.#history.length && Date.parse((this.#history[0] as QueueDepthSample).t) < Date.now() - keepMs) this.#history.shift();
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

/** The exporter every API and worker replica runs, configured from the fleet config. */
export function createQueueStatsExporter(deps: {
  config: Config;
  executeSql: ExecuteSql;
  registry: Registry;
  logger: Logger;
  historySeconds?: number;
}): QueueStatsExporter {
  return new QueueStatsExporter({
    executeSql: deps.executeSql,
    registry: deps.registry,
    logger: deps.logger,
    intervalSeconds: deps.config.queueStatsIntervalSeconds,
    queues: taskNames(),
    historySeconds: deps.historySeconds ?? 0,
  });
}
