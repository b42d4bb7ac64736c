/**
 * Long-poll on one API replica: per shard, the waiters (waiters.ts) fed by one LISTEN connection to
 * that shard's primary (listener.ts) — a task's end is announced by the database that holds it. The
 * replica's waiter limit (API_LONG_POLL_MAX_WAITERS) is shared by every shard's waiters.
 * `release()` answers every waiter at once (shutdown: a 60-second wait must not hold it up).
 */
import { type Config, type Logger, METRICS, requireDatabaseUrl, type Shard, type ShardSet } from '@taskfleet/core';
import { Gauge, type Registry } from 'prom-client';
import { TaskEndListener } from './listener.ts';
import { TaskWaiters } from './waiters.ts';

export interface LongPoll {
  /** The home shard's waiters and listener (the only ones with one shard). */
  waiters: TaskWaiters;
  listener: TaskEndListener;
  /** The waiters of a shard's tasks. */
  waitersOf(shard: Shard): TaskWaiters;
  /** Every shard's LISTEN connection, by shard id. */
  listeners: ReadonlyMap<number, TaskEndListener>;
  /** Answer every waiter now with its task's current state; later requests answer at once. */
  release(): void;
  close(): Promise<void>;
}

/** The primary's URL of a shard: from the shard map, else (a set built around one pg-boss) DATABASE_URL. */
function primaryUrl(config: Config, shard: Shard, home: boolean): string | undefined {
  const spec = config.database.shards.find((s) => s.id === shard.id);
  if (spec) return spec.url;
  return home ? requireDatabaseUrl(config) : undefined;
}

export function createLongPoll(deps: { config: Config; shards: ShardSet; logger: Logger; registry: Registry }): LongPoll {
  const { config, shards, logger } = deps;
  const budget = { count: 0 };
  const byShard = new Map<number, { waiters: TaskWaiters; listener: TaskEndListener }>();
  for (const shard of shards.all) {
    const log = shards.sharded ? logger.child({ shard: shard.id }) : logger;
    const waiters = new TaskWaiters({ executeSql: shard.executeSql, logger: log, maxWaiters: config.api.longPollMaxWaiters, budget });
    const url = primaryUrl(config, shard, shard === shards.home);
    if (!url) log.warn('no URL for this shard in the shard map: its long-poll waiters re-check every second instead of listening');
    const listener = new TaskEndListener({
      url: url ?? '',
      logger: log,
      onEnd: (id) => waiters.ended(id),
      onState: (up) => waiters.setListening(up),
    });
    if (url) void listener.start();
    byShard.set(shard.id, { waiters, listener });
  }
  new Gauge({
    name: METRICS.longPollWaiters,
    help: `Long-poll requests this replica holds (at most API_LONG_POLL_MAX_WAITERS, ${config.api.longPollMaxWaiters})`,
    registers: [deps.registry],
    collect() {
      this.set(budget.count);
    },
  });
  const home = byShard.get(shards.home.id) as { waiters: TaskWaiters; listener: TaskEndListener };
  const all = [...byShard.values()];
  return {
    waiters: home.waiters,
    listener: home.listener,
    waitersOf: (shard) => (byShard.get(shard.id) ?? home).waiters,
    listeners: new Map([...byShard].map(([id, l]) => [id, l.listener])),
    release: () => {
      for (const l of all) l.waiters.release();
    },
    async close() {
      for (const l of all) l.waiters.release();
      await Promise.all(all.map((l) => l.listener.close()));
    },
  };
}
