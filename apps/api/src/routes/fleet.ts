/**
 * What the dashboard and the CLI read about the fleet as a whole:
 * - `GET /v1/me`: the calling key's name and scopes (the UI hides actions a key may not take);
 * - `GET /v1/workers`: worker replicas seen in the last 30 s, with slots in use and limit;
 * - `GET /v1/stats`: the shared queue snapshot (depth by state and priority, oldest ready age), its
 *   last hour as kept by this replica's exporter (in memory: empty after a restart), and tasks
 *   created / finished per minute over the last hour (one scan of the job table, cached 10 s per
 *   replica and refreshed in the background — keep dashboards to a handful).
 */
import { createRoute } from '@hono/zod-openapi';
import { type ExecuteSql, liveWorkers, type QueueStatsExporter, throughputPerMinute, type WorkerList } from '@taskfleet/core';
import { Hono, type TypedResponse } from 'hono';
import type { AppEnv } from '../env.ts';
import { principalOf } from '../middleware/auth.ts';
import { jsonResponse, problemResponses, StatsSchema, WhoamiSchema, WorkerListSchema } from '../openapi-schemas.ts';
import { CachedValue } from '../queue-stats.ts';

/** The operations below, for the OpenAPI document. */
export const fleetOperations = [
  createRoute({
    operationId: 'whoami',
    method: 'get',
    path: '/v1/me',
    tags: ['fleet'],
    summary: "The calling API key's name and scopes",
    responses: { 200: jsonResponse('The key', WhoamiSchema), ...problemResponses(401, 429, 503) },
  }),
  createRoute({
    operationId: 'listWorkers',
    method: 'get',
    path: '/v1/workers',
    tags: ['fleet'],
    summary: 'Worker replicas seen in the last 30 s, with slots in use and limit',
    responses: { 200: jsonResponse('The workers', WorkerListSchema), ...problemResponses(401, 429, 503) },
  }),
  createRoute({
    operationId: 'getStats',
    method: 'get',
    path: '/v1/stats',
    tags: ['fleet'],
    summary: 'Queue snapshot, its last hour on this replica, and tasks created and finished per minute',
    description:
      'Depth by state and priority and the oldest ready age from the shared snapshot; `history` is kept in memory by the answering replica (empty after a restart); `throughput` is cached 10 s per replica.',
    responses: { 200: jsonResponse('The statistics', StatsSchema), ...problemResponses(401, 429, 503) },
  }),
];

export function fleetRoutes(deps: { executeSql: ExecuteSql; queueStats: QueueStatsExporter }): Hono<AppEnv> {
  const { executeSql, queueStats } = deps;
  const throughput = new CachedValue(() => throughputPerMinute(executeSql), 10_000);

  const app = new Hono<AppEnv>();
  app.get('/v1/me', (c) => {
    const p = principalOf(c);
    return c.json({ name: p.name, scopes: p.scopes });
  });

  // Typed as the contract's wire shape: the rows' Date columns are checked as their JSON strings.
  app.get('/v1/workers', async (c): Promise<TypedResponse<WorkerList>> => {
    const workers = await liveWorkers(executeSql);
    return c.json({
      workers,
      totals: {
        replicas: workers.length,
        slots: workers.reduce((s, w) => s + w.concurrency, 0),
        active: workers.reduce((s, w) => s + w.active, 0),
      },
    });
  });

  app.get('/v1/stats', async (c) => {
    const readyByPriority = queueStats.readyByPriority();
    const oldest = queueStats.oldestReadyAgeSeconds();
    const queues = [...queueStats.depthByQueue()].map(([queue, depth]) => ({
      queue,
      depth,
      readyByPriority: readyByPriority.get(queue),
      oldestReadyAgeSeconds: oldest.get(queue) ?? null,
    }));
    return c.json({
      computedAt: queueStats.snapshot.computedAt?.toISOString() ?? null,
      queues,
      history: queueStats.history,
      throughput: await throughput.get(),
    });
  });
  return app;
}
