/** Entry point: wire real dependencies, start serving, drain on SIGTERM. */
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
import { createApi } from './app.ts';

let logger: Logger | undefined;
try {
  const config = loadConfig(process.env);
  logger = createLogger({ role: 'api', config });
  const log = logger;
  await loadTaskModules(config.taskModules);
  if (config.api.auth === 'disabled')
    logger.warn('API_AUTH=disabled: every request is treated as an anonymous admin (local development only)');
  const boss = await startBoss(
    createBoss({ config, role: 'api', logger, max: config.api.poolSize, supervise: false, listen: false }),
    logger,
  );
  let draining = false;
  const api = createApi({ config, boss, logger, metrics: createMetricsRegistry('api'), isDraining: () => draining });
  const server = await startServer(api.app, {
    host: config.api.host,
    port: config.api.port,
    name: 'api',
    requestTimeoutMs: config.api.requestTimeoutMs + 5_000,
    headersTimeoutMs: Math.min(10_000, config.api.requestTimeoutMs + 5_000),
    keepAliveTimeoutMs: 65_000,
  });
  logger.info({ url: server.url, auth: config.api.auth }, 'api listening');
  handleShutdownSignals(logger, async () => {
    // Order: stop being ready (balancers stop sending), let in-flight requests finish (their
    // group commits flush), flush anything left, then close the pool.
    // A closed port or a reset keep-alive socket is an error a client cannot tell from a lost
    // request, so first keep serving for API_SHUTDOWN_DELAY_MS with readyz red and every answer
    // closing its connection; only then stop accepting.
    draining = true;
    server.endKeepAlive();
    await new Promise((r) => setTimeout(r, config.api.shutdownDelayMs));
    await server.close(config.api.requestTimeoutMs);
    await api.close();
    await boss.stop({ graceful: true, close: true, timeout: 5_000 });
    log.info('api stopped');
  });
} catch (err) {
  exitOnStartupError(logger, err);
}
