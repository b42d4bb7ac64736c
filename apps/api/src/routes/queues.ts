/**
 * Queue listing with depth by state and the age of the oldest ready task (cached ≤ 5 s), and each
 * queue's fleet-wide flow control: `PATCH /v1/queues/{queue}` pauses, resumes and sets its
 * concurrency and rate limits (admin scope), read by every replica's next claim.
 *
 * With several shards the depths are summed over the shards (the oldest ready age is the largest),
 * a shard that does not answer is left out and named in `X-Missing-Shards`; the settings are written
 * to every shard (each shard's claims read its own copy) and read from the first that answers.
 */
import { createRoute } from '@hono/zod-openapi';
import { Hono } from 'hono';
import {
  type Config,
  DEFAULT_QUEUE_SETTINGS,
  deadLetterQueueFor,
  getQueueSettings,
  getTaskDefinition,
  isDeadLetterQueue,
  type Logger,
  listQueueSettings,
  type QueueDepthRow,
  type QueueInfo,
  type QueueSettings,
  type QueueSettingsView,
  type Shard,
  updateQueueSettings,
} from '@taskfleet/core';
import { readJsonBody } from '../body.ts';
import { zodFieldErrors } from '../enqueue/schema.ts';
import type { AppEnv } from '../env.ts';
import { requireTaskType } from '../known-queues.ts';
import { requireScope } from '../middleware/auth.ts';
import {
  jsonResponse,
  problemResponses,
  QueueInfoSchema,
  QueueListSchema,
  QueueParams,
  QueueSettingsPatchSchema,
} from '../openapi-schemas.ts';
import { problems } from '../problem.ts';
import { fanOut, markMissing, missingShardsHeaders } from '../shards/fan-out.ts';
import type { Lanes } from '../shards/lanes.ts';

export interface QueueRouteDeps {
  config: Config;
  lanes: Lanes;
  logger: Logger;
}

/** The shards' depth rows as one: counts summed, the oldest ready age the largest. */
export function sumDepths(perShard: QueueDepthRow[][]): QueueDepthRow[] {
  if (perShard.length === 1) return perShard[0] as QueueDepthRow[];
  const byName = new Map<string, QueueDepthRow>();
  for (const rows of perShard) {
    for (const r of rows) {
      const sum = byName.get(r.name);
      if (!sum) {
        byName.set(r.name, { ...r });
        continue;
      }
      for (const k of ['ready', 'scheduled', 'retrying', 'running', 'completed', 'failed', 'cancelled'] as const) sum[k] += r[k];
      if (r.oldestReadyAgeSeconds !== null) sum.oldestReadyAgeSeconds = Math.max(sum.oldestReadyAgeSeconds ?? 0, r.oldestReadyAgeSeconds);
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The settings without their timestamp, as the API shows them. */
const settingsView = ({ updatedAt: _u, ...shown }: QueueSettings): QueueSettingsView => shown;

function view(row: QueueDepthRow, s: QueueSettings = DEFAULT_QUEUE_SETTINGS): QueueInfo {
  const def = getTaskDefinition(row.name);
  return {
    name: row.name,
    kind: isDeadLetterQueue(row.name) ? 'dead-letter' : 'tasks',
    description: def?.description ?? null,
    deadLetterQueue: def?.defaults.deadLetter ? deadLetterQueueFor(row.name) : null,
    depth: {
      ready: row.ready,
      scheduled: row.scheduled,
      retrying: row.retrying,
      running: row.running,
      completed: row.completed,
      failed: row.failed,
      cancelled: row.cancelled,
    },
    oldestReadyAgeSeconds: row.oldestReadyAgeSeconds === null ? null : Math.round(row.oldestReadyAgeSeconds * 1000) / 1000,
    settings: settingsView(s),
  };
}

/** The operations below, for the OpenAPI document. */
export const queueOperations = [
  createRoute({
    operationId: 'listQueues',
    method: 'get',
    path: '/v1/queues',
    tags: ['queues'],
    summary: 'Queues with depth by state and the age of the oldest ready task',
    description:
      'Task types and their dead-letter queues; counted at most every 5 s per replica. With several shards the depths are summed over the shards; a shard whose database is unavailable is left out and named in `X-Missing-Shards`.',
    responses: {
      200: { ...jsonResponse('The queues', QueueListSchema), headers: missingShardsHeaders },
      ...problemResponses(401, 429, 503),
    },
  }),
  createRoute({
    operationId: 'getQueue',
    method: 'get',
    path: '/v1/queues/{queue}',
    tags: ['queues'],
    summary: 'One queue',
    request: { params: QueueParams },
    responses: {
      200: { ...jsonResponse('The queue', QueueInfoSchema), headers: missingShardsHeaders },
      ...problemResponses(401, 404, 429, 503),
    },
  }),
  createRoute({
    operationId: 'updateQueue',
    method: 'patch',
    path: '/v1/queues/{queue}',
    tags: ['queues'],
    summary: 'Pause or resume a queue, or set its fleet-wide concurrency, rate and per-group limits',
    description:
      "Admin scope. Enforced by every worker replica's next claim, whatever the replica count; resume and raised limits wake the workers at once. Absent fields stay as they are; null clears a limit. With several shards the settings are written to every shard; if one does not answer the request is a 503 naming it (the others have the change: repeat the request).",
    request: {
      params: QueueParams,
      body: { required: true, content: { 'application/json': { schema: QueueSettingsPatchSchema } } },
    },
    responses: {
      200: jsonResponse('The queue with its new settings', QueueInfoSchema),
      ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    },
  }),
];

export function queueRoutes(deps: QueueRouteDeps): Hono<AppEnv> {
  const { lanes } = deps;
  const app = new Hono<AppEnv>();
  /** Depths summed over the shards that answer; `settings` from the first of them (all hold the same). */
  async function read<S>(settingsOf: (shard: Shard, depths: QueueDepthRow[]) => Promise<S>) {
    const { values, missing } = await fanOut(lanes.shards.all, async (shard) => {
      const cache = lanes.of(shard).depths;
      const depths = await cache.get();
      return { shard: shard.id, depths, settings: await settingsOf(shard, depths), stale: cache.failing };
    });
    // A shard whose last count failed adds its last known depths (dropping them would look like a
    // drain) and is named among the missing.
    for (const v of values) if (v.stale) missing.push(v.shard);
    const settings = (values.find((v) => !v.stale) ?? (values[0] as (typeof values)[number])).settings;
    return { rows: sumDepths(values.map((v) => v.depths)), settings, missing: missing.sort((a, b) => a - b) };
  }
  const rowOf = (rows: QueueDepthRow[], queue: string) => {
    const row = rows.find((r) => r.name === queue);
    if (!row) throw problems.notFound(`There is no queue named ${JSON.stringify(queue)}.`);
    return row;
  };
  app.get('/v1/queues', async (c) => {
    const { rows, settings, missing } = await read((shard) => listQueueSettings(shard.reads.execute));
    markMissing(c, missing);
    return c.json({ queues: rows.map((row) => view(row, settings.get(row.name))) });
  });
  app.get('/v1/queues/:queue', async (c) => {
    const queue = c.req.param('queue');
    // Settings only of a queue that exists (a name from the URL is not sent to the database otherwise).
    const { rows, settings, missing } = await read(async (shard, depths) =>
      depths.some((r) => r.name === queue) ? getQueueSettings(shard.reads.execute, queue) : undefined,
    );
    markMissing(c, missing);
    return c.json(view(rowOf(rows, queue), settings));
  });
  app.patch('/v1/queues/:queue', async (c) => {
    const queue = c.req.param('queue');
    requireScope(c, 'admin');
    requireTaskType(queue);
    const parsed = QueueSettingsPatchSchema.safeParse(await readJsonBody(c, deps.config.api.bodyLimitBytes));
    if (!parsed.success) throw problems.validation(zodFieldErrors(parsed.error));
    const { rows, missing } = await read(async () => undefined);
    const row = rowOf(rows, queue);
    // Every shard, the home shard's answer shown; a shard that fails fails the request (a repeat is harmless).
    const written = await Promise.allSettled(lanes.shards.all.map((shard) => updateQueueSettings(shard.executeSql, queue, parsed.data)));
    for (const [i, w] of written.entries()) if (w.status === 'rejected') throw lanes.failure(lanes.shards.all[i] as Shard, w.reason);
    const settings = (written[0] as PromiseFulfilledResult<QueueSettings>).value;
    deps.logger.info({ queue, settings: settingsView(settings) }, 'queue settings changed');
    markMissing(c, missing);
    return c.json(view(row, settings));
  });
  return app;
}
