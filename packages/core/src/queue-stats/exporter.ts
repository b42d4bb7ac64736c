/**
 * Queue gauges for Prometheus, fresh to QUEUE_STATS_INTERVAL_SECONDS and cheap for the database:
 * every interval each replica (API and worker alike) first tries to claim the shared snapshot row;
 * the one that wins runs the counting query and stores the result; every replica then reads the
 * snapshot and serves it from memory. A scrape never touches the database, and all replicas export
 * the same numbers — rules aggregate them with `max by (queue, …)` (docs/runbook.md).
 */
import type { ExecuteSql } from '../db.ts';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { METRICS } from '../metrics.ts';
import { priorityName } from '../priority.ts';
import { isDeadLetterQueue } from '../queues.ts';
import { taskNames } from '../tasks/registry.ts';
import { computeQueueStats, type QueueStatsRow } from './query.ts';

export const QUEUE_DEPTH_STATES = ['ready', 'scheduled', 'retrying', 'active', 'dead_lettered'] as const;

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
}

export class QueueStatsExporter {
  readonly #o: QueueStatsExporterOptions;
  #snapshot: QueueSnapshot = { computedAt: null, rows: [] };
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
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
        const totals = new Map<string, number>();
        for (const q of exporter.#o.queues) for (const p of ['critical', 'high', 'normal', 'low']) totals.set(`${q}\n${p}`, 0);
        for (const r of exporter.#snapshot.rows) {
          if (isDeadLetterQueue(r.queue)) continue;
          const key = `${r.queue}\n${priorityName(r.priority)}`;
          totals.set(key, (totals.get(key) ?? 0) + r.ready);
        }
        for (const [key, n] of totals) {
          const [queue, priority] = key.split('\n') as [string, string];
          this.set({ queue, priority }, n);
        }
      },
    });
    new Gauge({
      name: METRICS.queueOldestReadyAge,
      help: 'Seconds since the oldest ready task of the queue became ready (0 when none)',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        const oldest = new Map(exporter.#o.queues.map((q) => [q, 0]));
        const drift = exporter.#snapshot.computedAt ? (Date.now() - exporter.#snapshot.computedAt.getTime()) / 1000 : 0;
        for (const r of exporter.#snapshot.rows) {
          if (isDeadLetterQueue(r.queue) || r.oldestReadyAgeSeconds === null) continue;
          oldest.set(r.queue, Math.max(oldest.get(r.queue) ?? 0, r.oldestReadyAgeSeconds + drift));
        }
        for (const [queue, age] of oldest) this.set({ queue }, age);
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

  /** Depth by state for every exported queue (dead-letter queues fold into their parent's `dead_lettered`). */
  depthByQueue(): Map<string, Record<(typeof QUEUE_DEPTH_STATES)[number], number>> {
    const out = new Map(this.#o.queues.map((q) => [q, { ready: 0, scheduled: 0, retrying: 0, active: 0, dead_lettered: 0 }]));
    for (const r of this.#snapshot.rows) {
      if (isDeadLetterQueue(r.queue)) {
        const parent = out.get(r.queue.slice(0, -'.dead'.length));
        if (parent) parent.dead_lettered += r.ready + r.scheduled + r.retrying + r.active;
        continue;
      }
      const q = out.get(r.queue) ?? { ready: 0, scheduled: 0, retrying: 0, active: 0, dead_lettered: 0 };
      q.ready += r.ready;
      q.scheduled += r.scheduled;
      q.retrying += r.retrying;
      q.active += r.active;
      out.set(r.queue, q);
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
      // Due when claimed more than 90 % of an interval ago: the claim itself is the lock (one row).
      const { rows: claimed } = await executeSql(
        `UPDATE taskfleet.queue_stats SET claimed_at = now()
         WHERE id = 1 AND claimed_at < now() - make_interval(secs => $1::float8 * 0.9) RETURNING id`,
        [intervalSeconds],
      );
      if (claimed.length > 0) {
        const rows = await computeQueueStats(executeSql);
        await executeSql(`UPDATE taskfleet.queue_stats SET stats = $1::jsonb, computed_at = now() WHERE id = 1`, [JSON.stringify(rows)]);
        this.computations++;
      }
      const { rows } = await executeSql(`SELECT stats, computed_at AS "computedAt" FROM taskfleet.queue_stats WHERE id = 1`);
      if (rows[0])
        this.#snapshot = { rows: rows[0].stats as QueueStatsRow[], computedAt: rows[0].computedAt ? new Date(rows[0].computedAt) : null };
    } catch (err) {
      logger.warn({ err }, 'queue stats refresh failed; serving the last snapshot');
    }
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
}): QueueStatsExporter {
  return new QueueStatsExporter({
    executeSql: deps.executeSql,
    registry: deps.registry,
    logger: deps.logger,
    intervalSeconds: deps.config.queueStatsIntervalSeconds,
    queues: taskNames(),
  });
}
