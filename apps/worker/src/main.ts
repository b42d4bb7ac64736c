/** Entry point: wire real dependencies, run the worker, drain on SIGTERM. */
import {
  createBoss,
  createLogger,
  createMetricsRegistry,
  exitOnStartupError,
  handleShutdownSignals,
  loadConfig,
  type Logger,
  startBoss,
  startServer,
} from '@taskfleet/core';
import { hostname } from 'node:os';
import { createWorker } from './worker.ts';

let logger: Logger | undefined;
try {
  const config = loadConfig(process.env);
  const replica = config.worker.id ?? `${hostname()}-${process.pid}`;
  logger = createLogger({ role: 'worker', config, base: { worker: replica } });
  const boss = await startBoss(
    createBoss({ config, role: 'worker', instance: replica, logger, max: config.worker.poolSize, supervise: true, listen: true }),
    logger,
  );
  const worker = createWorker({ config, boss, logger, metrics: createMetricsRegistry('worker', { worker: replica }) });
  const server = await startServer(worker.http, { host: config.worker.host, port: config.worker.port, name: 'worker-http' });
  await worker.start();
  logger.info({ url: server.url, concurrency: config.worker.concurrency }, 'worker running');
  handleShutdownSignals(logger, async () => {
    await worker.stop();
    await server.close(5_000);
    await boss.stop({ graceful: true, close: true, timeout: 5_000 });
  });
} catch (err) {
  exitOnStartupError(logger, err);
}
