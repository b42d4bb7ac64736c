/** Entry point: wire real dependencies, run the worker, drain on SIGTERM. */
import { hostname } from 'node:os';
import { type Config, createMetricsRegistry, runMain, startScheduler, startServer } from '@taskfleet/core';
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
    listen: false, // the worker holds its own LISTEN through pg-boss's db (see worker.ts)
    overrides: {
      superviseIntervalSeconds: config.worker.maintenanceIntervalSeconds,
      monitorIntervalSeconds: config.worker.maintenanceIntervalSeconds,
    },
  }),
  async start({ config, logger, boss, taskModules }) {
    const replica = replicaOf(config);
    const metrics = createMetricsRegistry('worker', { worker: replica });
    const worker = createWorker({
      config,
      boss,
      logger,
      metrics,
      handlers: taskModules as HandlerEntry[],
      replica,
    });
    const server = await startServer(worker.http, { host: config.worker.host, port: config.worker.port, name: 'worker-http' });
    await worker.start();
    // Every replica, API and worker alike, fires the due recurring schedules (schedules/scheduler.ts).
    const scheduler = startScheduler({ config, boss, logger, registry: metrics });
    logger.info({ url: server.url, concurrency: config.worker.concurrency }, 'worker running');
    return async () => {
      await scheduler.stop();
      await worker.stop(config.worker.shutdownGraceSeconds);
      await server.close(2_000);
    };
  },
});
