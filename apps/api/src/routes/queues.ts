/**
 * Queue listing with depth by state and the age of the oldest ready task (cached ≤ 2 s), and each
 * queue's fleet-wide flow control: `PATCH /v1/queues/{queue}` pauses, resumes and sets its
 * concurrency and rate limits (admin scope), read by every replica's next claim.
 */
import { createRoute } from '@hono/zod-openapi';
import { Hono } from 'hono';
import {
  type Config,
  DEFAULT_QUEUE_SETTINGS,
  deadLetterQueueFor,
  type ExecuteSql,
  getQueueSettings,
  getTaskDefinition,
  isDeadLetterQueue,
  type Logger,
  listQueueSettings,
  type QueueDepthRow,
  type QueueInfo,
  type QueueSettings,
  type QueueSettingsView,
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
import type { CachedValue } from '../queue-stats.ts';

export interface QueueRouteDeps {
  config: Config;
  executeSql: ExecuteSql;
  stats: CachedValue<QueueDepthRow[]>;
  logger: Logger;
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
    description: 'Task types and their dead-letter queues; counted at most every 5 s per replica.',
    responses: { 200: jsonResponse('The queues', QueueListSchema), ...problemResponses(401, 429, 503) },
  }),
  createRoute({
    operationId: 'getQueue',
    method: 'get',
    path: '/v1/queues/{queue}',
    tags: ['queues'],
    summary: 'One queue',
    request: { params: QueueParams },
    responses: { 200: jsonResponse('The queue', QueueInfoSchema), ...problemResponses(401, 404, 429, 503) },
  }),
  createRoute({
    operationId: 'updateQueue',
    method: 'patch',
    path: '/v1/queues/{queue}',
    tags: ['queues'],
    summary: 'Pause or resume a queue, or set its fleet-wide concurrency, rate and per-group limits',
    description:
      "Admin scope. Enforced by every worker replica's next claim, whatever the replica count; resume and raised limits wake the workers at once. Absent fields stay as they are; null clears a limit.",
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
  const { stats, executeSql } = deps;
  const app = new Hono<AppEnv>();
  const rowOf = async (queue: string) => {
    const row = (await stats.get()).find((r) => r.name === queue);
    if (!row) throw problems.notFound(`There is no queue named ${JSON.stringify(queue)}.`);
    return row;
  };
  app.get('/v1/queues', async (c) => {
    const settings = await listQueueSettings(executeSql);
    return c.json({ queues: (await stats.get()).map((row) => view(row, settings.get(row.name))) });
  });
  app.get('/v1/queues/:queue', async (c) => {
    const row = await rowOf(c.req.param('queue'));
    return c.json(view(row, await getQueueSettings(executeSql, row.name)));
  });
  app.patch('/v1/queues/:queue', async (c) => {
    const queue = c.req.param('queue');
    requireScope(c, 'admin');
    requireTaskType(queue);
    const parsed = QueueSettingsPatchSchema.safeParse(await readJsonBody(c, deps.config.api.bodyLimitBytes));
    if (!parsed.success) throw problems.validation(zodFieldErrors(parsed.error));
    const row = await rowOf(queue);
    const settings = await updateQueueSettings(executeSql, queue, parsed.data);
    deps.logger.info({ queue, settings: settingsView(settings) }, 'queue settings changed');
    return c.json(view(row, settings));
  });
  return app;
}
