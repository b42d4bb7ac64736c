/** An API app on a test database (real pg-boss, real PostgreSQL), closed by `close()`. */
import { createApiKey, createBoss, createMetricsRegistry, startBoss, type ApiKeyScope } from '@taskfleet/core';
import { type Api, createApi } from '@taskfleet/api';
import type { TestDatabase } from './database.ts';

export interface TestApi extends Api {
  draining: boolean;
  request(path: string, init?: RequestInit & { json?: unknown; key?: string }): Promise<Response>;
  createKey(name: string, scopes?: ApiKeyScope[], rateLimitPerSecond?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startTestApi(db: TestDatabase, env: Record<string, string> = {}): Promise<TestApi> {
  const config = db.config({ API_AUTH: 'disabled', ...env });
  const boss = await startBoss(
    createBoss({ config, role: 'api', logger: db.logger, max: config.api.poolSize, supervise: false, listen: false }),
    db.logger,
  );
  const state = { draining: false };
  const api = createApi({ config, boss, logger: db.logger, metrics: createMetricsRegistry('api'), isDraining: () => state.draining });
  const sql = (text: string, values?: unknown[]) => boss.getDb().executeSql(text, values);
  return {
    ...api,
    get draining() {
      return state.draining;
    },
    set draining(v: boolean) {
      state.draining = v;
    },
    async request(path, init = {}) {
      const { json, key, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (json !== undefined) {
        headers.set('content-type', headers.get('content-type') ?? 'application/json');
      }
      if (key) headers.set('authorization', `Bearer ${key}`);
      return api.app.request(path, {
        ...rest,
        headers,
        ...(json !== undefined ? { body: JSON.stringify(json), method: rest.method ?? 'POST' } : {}),
      });
    },
    async createKey(name, scopes = ['submit'], rateLimitPerSecond) {
      return (await createApiKey(sql, { name, scopes, rateLimitPerSecond: rateLimitPerSecond ?? null })).key;
    },
    async close() {
      await api.close();
      await boss.stop({ graceful: false, close: true });
    },
  };
}

/** Tasks stored for a queue (all states). */
export async function countJobs(db: TestDatabase, queue?: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    queue ? 'SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1' : 'SELECT count(*)::int AS n FROM pgboss.job',
    queue ? [queue] : [],
  );
  return rows[0]?.n ?? 0;
}
