/**
 * The API as an app factory: every dependency comes in, nothing is read from the environment here,
 * so tests call `createApp(deps).request(path, init)` without opening a port.
 *
 * Pipeline: request context (id, logs, metrics) → public routes (health, metrics, docs) →
 * authentication → per-key rate limit → task and queue routes (admission control, validation,
 * group commit) → one problem+json error handler.
 */
import {
  executorOf,
  type Config,
  createQueueStatsExporter,
  healthRoutes,
  insertTasks,
  inTransaction,
  type Logger,
  ping,
  metricsRoute,
  QueueWaker,
  type QueueStatsExporter,
} from '@taskfleet/core';
import { Hono } from 'hono';
import { PatternRouter } from 'hono/router/pattern-router';
import type { PgBoss } from 'pg-boss';
import type { Registry } from 'prom-client';
import { GroupCommitter } from './enqueue/group-commit.ts';
import type { AppEnv } from './env.ts';
import { createLongPoll, type LongPoll } from './long-poll/index.ts';
import { type ApiMetrics, createApiMetrics } from './metrics.ts';
import { authenticate } from './middleware/auth.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestContext } from './middleware/request-context.ts';
import { errorHandler, problemResponse } from './problem.ts';
import { DepthShedder, queueDepthCache } from './queue-stats.ts';
import { docsRoutes } from './routes/docs.ts';
import { enqueueRoutes } from './routes/enqueue.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { queueRoutes } from './routes/queues.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { taskOpsRoutes } from './routes/task-ops.ts';
import { taskReadRoutes } from './routes/tasks.ts';
import { uiRoutes } from './routes/ui.ts';

export interface ApiDeps {
  config: Config;
  boss: PgBoss;
  logger: Logger;
  metrics: Registry;
  /** True once shutdown has begun. */
  isDraining: () => boolean;
}

export interface Api {
  app: Hono<AppEnv>;
  /** Flushes pending group commits and refuses new ones (graceful shutdown). */
  close(): Promise<void>;
  committer: GroupCommitter;
  metrics: ApiMetrics;
  shedder: DepthShedder;
  queueStats: QueueStatsExporter;
  /** Long-poll waiters; `release()` them when shutdown begins. */
  longPoll: LongPoll;
}

export function createApi(deps: ApiDeps): Api {
  const { config, boss, logger } = deps;
  const executeSql = executorOf(boss);
  // One NOTIFY per queue in flight, after the inserts commit (store/wake.ts).
  const waker = new QueueWaker(executeSql, (err, queue) => logger.warn({ err, queue }, 'waking workers failed; they poll'));
  let committer: GroupCommitter | undefined;
  const metrics = createApiMetrics(deps.metrics, () => committer?.waiting ?? 0);
  committer = new GroupCommitter({
    insert: (queue, rows) => insertTasks(executeSql, queue, rows, waker.wake),
    maxRows: config.api.groupCommit.maxRows,
    windowMs: config.api.groupCommit.windowMs,
    concurrency: config.api.groupCommit.concurrency,
    queueLimit: config.api.requestQueueSize,
    timeoutMs: config.api.requestTimeoutMs,
    onStatement: ({ rows, ok, seconds }) => {
      metrics.groupCommitRows.observe(rows);
      metrics.groupCommitSeconds.observe({ outcome: ok ? 'ok' : 'error' }, seconds);
    },
  });
  const shedder = new DepthShedder(executeSql, config.api.shedReadyDepth, logger);
  // API replicas export the queue gauges too, so autoscaling works even with zero workers.
  // The last hour of snapshots feeds the dashboard's depth chart (/v1/stats).
  const queueStats = createQueueStatsExporter({ config, executeSql, registry: deps.metrics, logger, historySeconds: 3600 });
  queueStats.start();
  const stats = queueDepthCache(executeSql);
  const longPoll = createLongPoll({ config, executeSql, logger, registry: deps.metrics });

  // PatternRouter: the routes' `:op{tasks:batch}`-style custom methods keep Hono's default (RegExpRouter)
  // from compiling them, and its fallback, TrieRouter, allocated ~2.8 KB per request (ingest profile).
  const app = new Hono<AppEnv>({ router: new PatternRouter() });
  app.use('*', requestContext(logger, metrics));
  app.route('/', healthRoutes({ pingDatabase: () => ping(executeSql), isDraining: deps.isDraining }));
  app.route('/', metricsRoute(deps.metrics));
  app.route('/', docsRoutes(config));
  app.route('/', uiRoutes());
  app.use('/v1/*', authenticate(config, executeSql));
  app.use(
    '/v1/*',
    rateLimit(config, () => metrics.shed.inc({ reason: 'rate_limit' })),
  );
  const transaction = <T>(work: Parameters<typeof inTransaction<T>>[1]) => inTransaction(boss, work);
  app.route(
    '/',
    enqueueRoutes({ config, executeSql, committer, metrics, shedder, wake: waker.wake, transaction, isDraining: deps.isDraining }),
  );
  app.route('/', taskReadRoutes({ config, executeSql, waiters: longPoll.waiters }));
  app.route('/', taskOpsRoutes({ config, boss, executeSql, logger }));
  app.route('/', queueRoutes({ config, executeSql, stats, logger }));
  app.route('/', fleetRoutes({ executeSql, queueStats }));
  app.route('/', scheduleRoutes({ config, executeSql, logger }));
  app.notFound((c) =>
    problemResponse(c, {
      type: 'https://taskfleet.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      detail: `No route ${c.req.method} ${new URL(c.req.url).pathname}.`,
    }),
  );
  app.onError(errorHandler(logger));
  const closer = committer;
  return {
    app,
    committer: closer,
    metrics,
    shedder,
    queueStats,
    longPoll,
    close: async () => {
      await longPoll.close();
      await closer.close();
      await waker.idle();
      await queueStats.stop();
    },
  };
}

/** The Hono app alone (route tests). */
export function createApp(deps: ApiDeps): Hono<AppEnv> {
  return createApi(deps).app;
}
