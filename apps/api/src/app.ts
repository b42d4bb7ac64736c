/**
 * The API as an app factory: every dependency comes in, nothing is read from the environment here,
 * so tests call `createApp(deps).request(path, init)` without opening a port.
 */
import { type Config, healthRoutes, type Logger, metricsRoute } from '@taskfleet/core';
import { Hono } from 'hono';
import type { PgBoss } from 'pg-boss';
import type { Registry } from 'prom-client';

export interface ApiDeps {
  config: Config;
  boss: PgBoss;
  logger: Logger;
  metrics: Registry;
  /** True once shutdown has begun. */
  isDraining: () => boolean;
}

export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();
  const db = deps.boss.getDb();
  app.route('/', healthRoutes({ pingDatabase: async () => void (await db.executeSql('SELECT 1')), isDraining: deps.isDraining }));
  app.route('/', metricsRoute(deps.metrics));
  return app;
}
