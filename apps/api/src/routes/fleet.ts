/**
 * What the dashboard and the CLI read about the fleet as a whole:
 * - `GET /v1/me`: the calling key's name and scopes (the UI hides actions a key may not take);
 * - `GET /v1/workers`: worker replicas seen in the last 30 s, with slots in use and limit;
 * - `GET /v1/stats`: the shared queue snapshot (depth by state and priority, oldest ready age), its
 *   last hour as kept by this replica's exporter (in memory: empty after a restart), and tasks
 *   created / finished per minute over the last hour (one scan of the job table, cached 10 s per
 *   replica and refreshed in the background — keep dashboards to a handful).
 *
 * With several shards: workers are listed from every shard (a worker that drains several shards is
 * shown once), the snapshot is the sum over the shards, and throughput is summed per minute and
 * queue. A shard whose database does not answer is named in `X-Missing-Shards` (for the snapshot:
 * a shard whose last refresh failed, its figures then being its last known ones).
 */
import { createRoute } from '@hono/zod-openapi';
import { liveWorkers, type QueueStatsExporter, type ThroughputRow, type WorkerInfo, type WorkerList } from '@taskfleet/core';
import { Hono, type TypedResponse } from 'hono';
import type { AppEnv } from '../env.ts';
import { principalOf } from '../middleware/auth.ts';
import { jsonResponse, problemResponses, StatsSchema, WhoamiSchema, WorkerListSchema } from '../openapi-schemas.ts';
import { fanOut, markMissing, missingShardsHeaders } from '../shards/fan-out.ts';
import type { Lanes } from '../shards/lanes.ts';

/** Workers seen on any shard, once each (the same process on several shards: its latest row). */
export function mergeWorkers(perShard: WorkerInfo[][]): WorkerInfo[] {
  if (perShard.length === 1) return perShard[0] as WorkerInfo[];
  const byProcess = new Map<string, WorkerInfo>();
  for (const w of perShard.flat()) {
    const key = `${w.id}\n${w.hostname}\n${w.pid}`;
    const seen = byProcess.get(key);
    if (!seen || seen.seenAt < w.seenAt) byProcess.set(key, w);
  }
  return [...byProcess.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Throughput rows of every shard, summed per minute and queue. */
export function sumThroughput(perShard: ThroughputRow[][]): ThroughputRow[] {
  if (perShard.length === 1) return perShard[0] as ThroughputRow[];
  const byKey = new Map<string, ThroughputRow>();
  for (const r of perShard.flat()) {
    const key = `${r.minute}\n${r.queue}`;
    const sum = byKey.get(key);
    if (!sum) byKey.set(key, { ...r });
    else {
      sum.created += r.created;
      sum.completed += r.completed;
      sum.failed += r.failed;
    }
  }
  return [...byKey.values()].sort((a, b) => (a.minute + a.queue < b.minute + b.queue ? -1 : 1));
}

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
    description: 'With several shards, from every shard (`X-Missing-Shards` names those that did not answer).',
    responses: {
      200: { ...jsonResponse('The workers', WorkerListSchema), headers: missingShardsHeaders },
      ...problemResponses(401, 429, 503),
    },
  }),
  createRoute({
    operationId: 'getStats',
    method: 'get',
    path: '/v1/stats',
    tags: ['fleet'],
    summary: 'Queue snapshot, its last hour on this replica, and tasks created and finished per minute',
    description:
      'Depth by state and priority and the oldest ready age from the shared snapshot; `history` is kept in memory by the answering replica (empty after a restart); `throughput` is cached 10 s per replica. With several shards, the sums over the shards; `X-Missing-Shards` names shards whose database did not answer (their snapshot figures are their last known ones, their throughput is left out).',
    responses: {
      200: { ...jsonResponse('The statistics', StatsSchema), headers: missingShardsHeaders },
      ...problemResponses(401, 429, 503),
    },
  }),
];

export function fleetRoutes(deps: { lanes: Lanes; queueStats: QueueStatsExporter }): Hono<AppEnv> {
  const { lanes, queueStats } = deps;

  const app = new Hono<AppEnv>();
  app.get('/v1/me', (c) => {
    const p = principalOf(c);
    return c.json({ name: p.name, scopes: p.scopes });
  });

  // Typed as the contract's wire shape: the rows' Date columns are checked as their JSON strings.
  app.get('/v1/workers', async (c): Promise<TypedResponse<WorkerList>> => {
    const { values, missing } = await fanOut(lanes.shards.all, (shard) => liveWorkers(shard.reads.execute));
    markMissing(c, missing);
    const workers = mergeWorkers(values);
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
    const { values, missing } = await fanOut(lanes.shards.all, (shard) => lanes.of(shard).throughput.get());
    const stale = [...(queueStats.staleShards() ?? [])].filter(([, isStale]) => isStale).map(([id]) => id);
    for (const lane of lanes.all) if (lane.throughput.failing) stale.push(lane.shard.id);
    markMissing(
      c,
      [...new Set([...missing, ...stale])].sort((a, b) => a - b),
    );
    return c.json({
      computedAt: queueStats.snapshot.computedAt?.toISOString() ?? null,
      queues,
      history: queueStats.history,
      throughput: sumThroughput(values),
    });
  });
  return app;
}
