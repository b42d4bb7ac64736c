/**
 * Long-poll on one API replica: the waiters (waiters.ts) fed by one LISTEN connection (listener.ts).
 * `release()` answers every waiter at once (shutdown: a 60-second wait must not hold it up).
 */
import { type Config, type ExecuteSql, type Logger, METRICS, requireDatabaseUrl } from '@taskfleet/core';
import { Gauge, type Registry } from 'prom-client';
import { TaskEndListener } from './listener.ts';
import { TaskWaiters } from './waiters.ts';

export interface LongPoll {
  waiters: TaskWaiters;
  listener: TaskEndListener;
  /** Answer every waiter now with its task's current state; later requests answer at once. */
  release(): void;
  close(): Promise<void>;
}

export function createLongPoll(deps: { config: Config; executeSql: ExecuteSql; logger: Logger; registry: Registry }): LongPoll {
  const { config, executeSql, logger } = deps;
  const waiters = new TaskWaiters({ executeSql, logger, maxWaiters: config.api.longPollMaxWaiters });
  new Gauge({
    name: METRICS.longPollWaiters,
    help: `Long-poll requests this replica holds (at most API_LONG_POLL_MAX_WAITERS, ${config.api.longPollMaxWaiters})`,
    registers: [deps.registry],
    collect() {
      this.set(waiters.size);
    },
  });
  const listener = new TaskEndListener({
    url: requireDatabaseUrl(config),
    logger,
    onEnd: (id) => waiters.ended(id),
    onState: (up) => waiters.setListening(up),
  });
  void listener.start();
  return {
    waiters,
    listener,
    release: () => waiters.release(),
    async close() {
      waiters.release();
      await listener.close();
    },
  };
}
