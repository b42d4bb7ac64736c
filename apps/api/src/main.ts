/** Entry point: wire real dependencies, start serving, drain on SIGTERM. */
import { createMetricsRegistry, registerTopologyMetrics, runMain, startSchedulers, startServer } from '@taskfleet/core';
import { createApi } from './app.ts';

await runMain({
  role: 'api',
  boss: (config) => ({ max: config.api.poolSize, supervise: false, listen: false }),
  bossStop: { graceful: true, close: true, timeout: 5_000 },
  async start({ config, logger, boss, shards }) {
    if (config.api.auth === 'disabled')
      logger.warn('API_AUTH=disabled: every request is treated as an anonymous admin (local development only)');
    let draining = false;
    const metrics = createMetricsRegistry('api');
    registerTopologyMetrics(metrics, shards);
    const api = createApi({ config, boss, shards, logger, metrics, isDraining: () => draining });
    // Every replica, API and worker alike, fires the due recurring schedules of every shard (schedules/scheduler.ts).
    const scheduler = startSchedulers({ config, shards, logger, registry: metrics });
    const server = await startServer(api.app, {
      host: config.api.host,
      port: config.api.port,
      name: 'api',
      requestTimeoutMs: config.api.requestTimeoutMs + 5_000,
      headersTimeoutMs: Math.min(10_000, config.api.requestTimeoutMs + 5_000),
      keepAliveTimeoutMs: 65_000,
    });
    logger.info({ url: server.url, auth: config.api.auth }, 'api listening');
    return async () => {
      // Order: stop being ready (balancers stop sending), let in-flight requests finish (their
      // group commits flush), flush anything left, then close the pool.
      // A closed port or a reset keep-alive socket is an error a client cannot tell from a lost
      // request, so first keep serving for API_SHUTDOWN_DELAY_MS with readyz red and every answer
      // closing its connection; only then stop accepting.
      draining = true;
      api.longPoll.release();
      await scheduler.stop();
      server.endKeepAlive();
      await new Promise((r) => setTimeout(r, config.api.shutdownDelayMs));
      await server.close(config.api.requestTimeoutMs);
      await api.close();
    };
  },
});
