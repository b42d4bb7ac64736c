/**
 * The API as an app factory: every dependency comes in, nothing is read from the environment here,
 * so tests call `createApp(deps).request(path, init)` without opening a port.
 *
 * Pipeline: request context (id, logs, metrics) → public routes (health, metrics, docs) →
 * authentication → per-key rate limit → task and queue routes (admission control, validation,
 * group commit) → one problem+json error handler.
 */
import {
  type Config,
  createQueueStatsExporter,
  healthRoutes,
  type Logger,
  ping,
  metricsRoute,
  type QueueStatsExporter,
  ShardSet,
} from '@taskfleet/core';
import { Hono } from 'hono';
import { PatternRouter } from 'hono/router/pattern-router';
import type { PgBoss } from 'pg-boss';
import type { Registry } from 'prom-client';
import type { GroupCommitter } from './enqueue/group-commit.ts';
import type { AppEnv } from './env.ts';
import { createLongPoll, type LongPoll } from './long-poll/index.ts';
import { type ApiMetrics, createApiMetrics } from './metrics.ts';
import { authenticate } from './middleware/auth.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestContext } from './middleware/request-context.ts';
import { errorHandler, problemResponse } from './problem.ts';
import type { DepthShedder } from './queue-stats.ts';
import { docsRoutes } from './routes/docs.ts';
import { enqueueRoutes } from './routes/enqueue.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { queueRoutes } from './routes/queues.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { taskOpsRoutes } from './routes/task-ops.ts';
import { taskReadRoutes } from './routes/tasks.ts';
import { uiRoutes } from './routes/ui.ts';
import { createLanes, type Lanes } from './shards/lanes.ts';

export interface ApiDeps {
  config: Config;
  /** The home shard's pg-boss (`shards.home.boss`). */
  boss: PgBoss;
  /** Every shard (runMain's ShardSet); default `ShardSet.of(boss)`, one shard. */
  shards?: ShardSet;
  logger: Logger;
  metrics: Registry;
  /** True once shutdown has begun. */
  isDraining: () => boolean;
}

export interface Api {
  app: Hono<AppEnv>;
  /** Flushes pending group commits and refuses new ones (graceful shutdown). */
  close(): Promise<void>;
  /** Per shard: group committer, waker, depth shedder, cached reads. */
  lanes: Lanes;
  /** The home shard's group committer and depth shedder (the only ones with one shard). */
  committer: GroupCommitter;
  metrics: ApiMetrics;
  shedder: DepthShedder;
  queueStats: QueueStatsExporter;
  /** Long-poll waiters; `release()` them when shutdown begins. */
  longPoll: LongPoll;
}

export function createApi(deps: ApiDeps): Api {
  const { config, logger } = deps;
  const shards = deps.shards ?? ShardSet.of(deps.boss);
  let metrics: ApiMetrics | undefined;
  const lanes = createLanes({ config, shards, logger, metrics: () => metrics as ApiMetrics });
  metrics = createApiMetrics(deps.metrics, () => lanes.waiting);
  // API replicas export the queue gauges too (summed over the shards), so autoscaling works even
  // with zero workers. The last hour of snapshots feeds the dashboard's depth chart (/v1/stats).
  const queueStats = createQueueStatsExporter({ config, shards, registry: deps.metrics, logger, historySeconds: 3600 });
  queueStats.start();
  const longPoll = createLongPoll({ config, shards, logger, registry: deps.metrics });
  const home = shards.home;

  // PatternRouter: the routes' `:op{tasks:batch}`-style custom methods keep Hono's default (RegExpRouter)
  // from compiling them, and its fallback, TrieRouter, allocated ~2.8 KB per request (ingest profile).
  const app = new Hono<AppEnv>({ router: new PatternRouter() });
  app.use('*', requestContext(logger, metrics));
  // Ready while the home shard answers: a shard that is down refuses only its own requests (503
  // naming it), so it must not take every replica out of the balancer.
  app.route('/', healthRoutes({ pingDatabase: () => ping(home.executeSql), isDraining: deps.isDraining }));
  app.route('/', metricsRoute(deps.metrics));
  app.route('/', docsRoutes(config));
  app.route('/', uiRoutes());
  // API keys live on the home shard.
  app.use('/v1/*', authenticate(config, home.executeSql));
  app.use(
    '/v1/*',
    rateLimit(config, () => metrics.shed.inc({ reason: 'rate_limit' })),
  );
  app.route('/', enqueueRoutes({ config, lanes, metrics, isDraining: deps.isDraining }));
  app.route('/', taskReadRoutes({ config, lanes, longPoll }));
  app.route('/', taskOpsRoutes({ config, lanes, logger }));
  app.route('/', queueRoutes({ config, lanes, logger }));
  app.route('/', fleetRoutes({ lanes, queueStats }));
  app.route('/', scheduleRoutes({ config, lanes, logger }));
  app.notFound((c) =>
    problemResponse(c, {
      type: 'https://taskfleet.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      detail: `No route ${c.req.method} ${new URL(c.req.url).pathname}.`,
    }),
  );
  app.onError(errorHandler(logger));
  return {
    app,
    lanes,
    committer: lanes.home.committer,
    metrics,
    shedder: lanes.home.shedder,
    queueStats,
    longPoll,
    close: async () => {
      await longPoll.close();
      await lanes.close();
      await queueStats.stop();
    },
  };
}

/** The Hono app alone (route tests). */
export function createApp(deps: ApiDeps): Hono<AppEnv> {
  return createApi(deps).app;
}
