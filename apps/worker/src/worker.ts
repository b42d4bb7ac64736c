/**
 * The worker as an app factory. (The fetch loop, handlers and drain arrive with the worker issue;
 * this skeleton holds a started pg-boss instance and serves health and metrics.)
 */
import { type Config, healthRoutes, type Logger, metricsRoute } from '@taskfleet/core';
import { Hono } from 'hono';
import type { PgBoss } from 'pg-boss';
import type { Registry } from 'prom-client';

export interface WorkerDeps {
  config: Config;
  boss: PgBoss;
  logger: Logger;
  metrics: Registry;
}

export interface Worker {
  /** The worker's own HTTP surface: /healthz, /readyz, /metrics. */
  readonly http: Hono;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createWorker(deps: WorkerDeps): Worker {
  let draining = false;
  const db = deps.boss.getDb();
  const http = new Hono();
  http.route('/', healthRoutes({ pingDatabase: async () => void (await db.executeSql('SELECT 1')), isDraining: () => draining }));
  http.route('/', metricsRoute(deps.metrics));
  return {
    http,
    async start() {},
    async stop() {
      draining = true;
    },
  };
}
