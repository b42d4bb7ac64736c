/** Entry point: wire real dependencies, run the worker, drain on SIGTERM. */
import { hostname } from 'node:os';
import {
  createBoss,
  createLogger,
  createMetricsRegistry,
  exitOnStartupError,
  handleShutdownSignals,
  loadConfig,
  loadTaskModules,
  type Logger,
  startBoss,
  startServer,
} from '@taskfleet/core';
import type { HandlerEntry } from './handlers/types.ts';
import { createWorker } from './worker.ts';

let logger: Logger | undefined;
try {
  const config = loadConfig(process.env);
  const replica = config.worker.id ?? `${hostname()}-${process.pid}`;
  logger = createLogger({ role: 'worker', config, base: { worker: replica } });
  const taskModules = await loadTaskModules(config.taskModules);
  const boss = await startBoss(
    createBoss({
      config,
      role: 'worker',
      instance: replica,
      logger,
      max: config.worker.poolSize,
      supervise: true,
      listen: false, // the worker holds its own LISTEN through pg-boss's db (see worker.ts)
      overrides: {
        superviseIntervalSeconds: config.worker.maintenanceIntervalSeconds,
        monitorIntervalSeconds: config.worker.maintenanceIntervalSeconds,
      },
    }),
    logger,
  );
  const worker = createWorker({
    config,
    boss,
    logger,
    metrics: createMetricsRegistry('worker', { worker: replica }),
    handlers: taskModules as HandlerEntry[],
    replica,
  });
  const server = await startServer(worker.http, { host: config.worker.host, port: config.worker.port, name: 'worker-http' });
  await worker.start();
  logger.info({ url: server.url, concurrency: config.worker.concurrency }, 'worker running');
  handleShutdownSignals(logger, async () => {
    await worker.stop(config.worker.shutdownGraceSeconds);
    await server.close(2_000);
    await boss.stop({ graceful: false, close: true });
  });
} catch (err) {
  exitOnStartupError(logger, err);
}
