/** Entry point: wire real dependencies, start serving, drain on SIGTERM. */
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
import { createApp } from './app.ts';

let logger: Logger | undefined;
try {
  const config = loadConfig(process.env);
  logger = createLogger({ role: 'api', config });
  const log = logger;
  const boss = await startBoss(
    createBoss({ config, role: 'api', logger, max: config.api.poolSize, supervise: false, listen: false }),
    logger,
  );
  let draining = false;
  const app = createApp({ config, boss, logger, metrics: createMetricsRegistry('api'), isDraining: () => draining });
  const server = await startServer(app, { host: config.api.host, port: config.api.port, name: 'api' });
  logger.info({ url: server.url }, 'api listening');
  handleShutdownSignals(logger, async () => {
    draining = true;
    await server.close(10_000);
    await boss.stop({ graceful: true, close: true, timeout: 5_000 });
    log.info('api stopped');
  });
} catch (err) {
  exitOnStartupError(logger, err);
}
