/**
 * What the dashboard and the CLI read about the fleet as a whole:
 * - `GET /v1/me`: the calling key's name and scopes (the UI hides actions a key may not take);
 * - `GET /v1/workers`: worker replicas seen in the last 30 s, with slots in use and limit;
 * - `GET /v1/stats`: the shared queue snapshot (depth by state and priority, oldest ready age), its
 *   last hour as kept by this replica's exporter (in memory: empty after a restart), and tasks
 *   created / finished per minute over the last hour (one scan of the job table, cached 10 s per
 *   replica and refreshed in the background — keep dashboards to a handful).
 */
import type { ExecuteSql, QueueStatsExporter } from '@taskfleet/core';
import { Hono } from 'hono';
import { principalOf } from '../middleware/auth.ts';
import { CachedValue } from '../queue-stats.ts';
import { throughputPerMinute } from '../sql/throughput.ts';

export function fleetRoutes(deps: { executeSql: ExecuteSql; queueStats: QueueStatsExporter }): Hono {
  const { executeSql, queueStats } = deps;
  const throughput = new CachedValue(() => throughputPerMinute(executeSql), 10_000);

  const app = new Hono();
  app.get('/v1/me', (c) => {
    const p = principalOf(c);
    return c.json({ name: p.name, scopes: p.scopes });
  });

  app.get('/v1/workers', async (c) => {
    const { rows } = await executeSql(
      `SELECT id, hostname, pid, queues, concurrency, active, started_at AS "startedAt", seen_at AS "seenAt"
         FROM taskfleet.workers WHERE seen_at > now() - interval '30 seconds' ORDER BY id`,
    );
    const workers = rows as { concurrency: number; active: number }[];
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
