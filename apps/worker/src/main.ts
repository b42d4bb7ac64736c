/** Entry point: wire real dependencies, run the worker, drain on SIGTERM. */
import { hostname } from 'node:os';
import { type Config, createMetricsRegistry, registerTopologyMetrics, runMain, startSchedulers, startServer } from '@taskfleet/core';
import type { HandlerEntry } from './handlers/types.ts';
import { createWorker } from './worker.ts';

const replicaOf = (config: Config) => config.worker.id ?? `${hostname()}-${process.pid}`;

await runMain({
  role: 'worker',
  logBase: (config) => ({ worker: replicaOf(config) }),
  boss: (config) => ({
    instance: replicaOf(config),
    max: config.worker.poolSize,
    supervise: true,
    listen: false, // the worker holds its own LISTEN per shard through that shard's pg-boss db (listen.ts)
    overrides: {
      superviseIntervalSeconds: config.worker.maintenanceIntervalSeconds,
      monitorIntervalSeconds: config.worker.maintenanceIntervalSeconds,
    },
  }),
  // WORKER_DB_POOL_SIZE is per shard: runMain opens one pg-boss (one pool) per shard with `max` above.
  async start({ config, logger, boss, shards, taskModules }) {
    const replica = replicaOf(config);
    const metrics = createMetricsRegistry('worker', { worker: replica });
    registerTopologyMetrics(metrics, shards);
    const worker = createWorker({
      config,
      boss,
      shards,
      logger,
      metrics,
      handlers: taskModules as HandlerEntry[],
      replica,
    });
    const server = await startServer(worker.http, { host: config.worker.host, port: config.worker.port, name: 'worker-http' });
    await worker.start();
    // Every replica, API and worker alike, fires the due recurring schedules (schedules/scheduler.ts),
    // on every shard: a schedule lives on one shard, and its scheduler fires it there.
    // (startSchedulers stamps slot ids with the shard, as the API's schedulers do: one id per slot.)
    const schedulers = startSchedulers({ config, shards, logger, registry: metrics });
    logger.info({ url: server.url, concurrency: config.worker.concurrency }, 'worker running');
    return async () => {
      await schedulers.stop();
      await worker.stop(config.worker.shutdownGraceSeconds);
      await server.close(2_000);
    };
  },
});
