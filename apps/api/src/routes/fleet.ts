/**
 * What the dashboard and the CLI read about the fleet as a whole:
 * - `GET /v1/me`: the calling key's name and scopes (the UI hides actions a key may not take);
 * - `GET /v1/workers`: worker replicas seen in the last 30 s, with slots in use and limit;
 * - `GET /v1/stats`: the shared queue snapshot (depth by state and priority, oldest ready age), this
 *   replica's history of it (one sample per snapshot, the last hour, in memory: it starts empty when
 *   the replica starts), and tasks created / finished per minute over the last hour from the job
 *   table (one scan, cached 10 s per replica — it walks the whole job table, so keep dashboards to a
 *   handful).
 */
import { type ExecuteSql, isDeadLetterQueue, PRIORITY_NAMES, priorityName, type QueueStatsExporter } from '@taskfleet/core';
import { Hono } from 'hono';
import { principalOf } from '../middleware/auth.ts';

interface HistorySample {
  t: string;
  queues: Record<string, { ready: number; active: number; scheduled: number; retrying: number; dead_lettered: number }>;
}

interface ThroughputRow {
  minute: string;
  queue: string;
  created: number;
  completed: number;
  failed: number;
}

const HISTORY_MS = 3600_000;

export function fleetRoutes(deps: { executeSql: ExecuteSql; queueStats: QueueStatsExporter }): Hono {
  const { executeSql, queueStats } = deps;
  const history: HistorySample[] = [];
  let lastSampled: number | null = null;
  /** Record one sample per new snapshot (called on every read; the snapshot refreshes by itself). */
  function sample(): void {
    const at = queueStats.snapshot.computedAt?.getTime() ?? null;
    if (at === null || at === lastSampled) return;
    lastSampled = at;
    history.push({ t: new Date(at).toISOString(), queues: Object.fromEntries(queueStats.depthByQueue()) });
    while (history.length && Date.parse((history[0] as HistorySample).t) < Date.now() - HISTORY_MS) history.shift();
  }
  const sampler = setInterval(sample, 1_000);
  sampler.unref();

  let throughput: { rows: ThroughputRow[]; at: number } | undefined;
  let loading: Promise<ThroughputRow[]> | undefined;
  async function perMinute(): Promise<ThroughputRow[]> {
    if (throughput && Date.now() - throughput.at < 10_000) return throughput.rows;
    loading ??= executeSql(
      `WITH recent AS (
         SELECT name, created_on, completed_on, state FROM pgboss.job
          WHERE created_on > now() - interval '1 hour' OR completed_on > now() - interval '1 hour')
       SELECT to_char(m, 'YYYY-MM-DD"T"HH24:MI:00"Z"') AS minute, name AS queue,
              sum(created)::int AS created, sum(completed)::int AS completed, sum(failed)::int AS failed
         FROM (
           SELECT date_trunc('minute', created_on AT TIME ZONE 'UTC') AS m, name, 1 AS created, 0 AS completed, 0 AS failed
             FROM recent WHERE created_on > now() - interval '1 hour'
           UNION ALL
           SELECT date_trunc('minute', completed_on AT TIME ZONE 'UTC'), name, 0,
                  (state = 'completed')::int, (state = 'failed')::int
             FROM recent WHERE completed_on > now() - interval '1 hour' AND state IN ('completed', 'failed')
         ) x
        GROUP BY 1, 2 ORDER BY 1, 2`,
    )
      .then(({ rows }) => {
        throughput = { rows: rows as ThroughputRow[], at: Date.now() };
        return throughput.rows;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  }

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
    sample();
    const snapshot = queueStats.snapshot;
    const readyByPriority = new Map<string, Record<string, number>>();
    const oldest = new Map<string, number | null>();
    for (const r of snapshot.rows) {
      if (isDeadLetterQueue(r.queue)) continue;
      const byPriority = readyByPriority.get(r.queue) ?? Object.fromEntries(PRIORITY_NAMES.map((p) => [p, 0]));
      const name = priorityName(r.priority);
      byPriority[name] = (byPriority[name] ?? 0) + r.ready;
      readyByPriority.set(r.queue, byPriority);
      if (r.oldestReadyAgeSeconds !== null) oldest.set(r.queue, Math.max(oldest.get(r.queue) ?? 0, r.oldestReadyAgeSeconds));
    }
    const queues = [...queueStats.depthByQueue()].map(([queue, depth]) => ({
      queue,
      depth,
      readyByPriority: readyByPriority.get(queue) ?? Object.fromEntries(PRIORITY_NAMES.map((p) => [p, 0])),
      oldestReadyAgeSeconds: oldest.get(queue) ?? null,
    }));
    return c.json({
      computedAt: snapshot.computedAt?.toISOString() ?? null,
      queues,
      history,
      throughput: await perMinute(),
    });
  });
  return app;
}
