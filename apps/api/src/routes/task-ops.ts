/**
 * Changing tasks: `POST …/tasks/{id}:cancel` and `…:retry` (Google API style custom methods), and
 * `POST /v1/queues/{queue}/dead-letter:redrive`, which moves dead-lettered tasks back into their queue
 * (oldest first) as new attempts with the queue's retry settings (admin only).
 */
import {
  notifyCancelled,
  type Config,
  deadLetterQueueFor,
  deleteDeadLetterCopy,
  type ExecutePrepared,
  getTask,
  type Logger,
  type TaskRow,
  taskState,
} from '@taskfleet/core';
import { createRoute, z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import type { PgBoss } from 'pg-boss';
import { readJsonBody } from '../body.ts';
import { zodFieldErrors } from '../enqueue/schema.ts';
import type { AppEnv } from '../env.ts';
import type { Principal } from '../enqueue/build.ts';
import { requireQueue, requireTaskId, requireTaskType, UUID } from '../known-queues.ts';
import { canModify, canSee, requireScope } from '../middleware/auth.ts';
import {
  jsonResponse,
  problemResponse,
  problemResponses,
  QueueParams,
  RedriveResultSchema,
  TaskParams,
  TaskSchema,
} from '../openapi-schemas.ts';
import { problems } from '../problem.ts';
import { type TaskView, toTaskView } from '../task-view.ts';
import { baseUrl } from './base-url.ts';

export interface TaskOpsDeps {
  config: Config;
  boss: PgBoss;
  executeSql: ExecutePrepared;
  logger: Logger;
}

const redriveSchema = z.strictObject({
  limit: z.number().int().min(1).max(10_000).default(1000).describe('Move at most this many, oldest first'),
  ids: z
    .array(z.string().regex(UUID, 'must be a task id (UUID)'))
    .min(1)
    .max(10_000)
    .optional()
    .describe('Only these tasks (their ids in the dead-letter queue)'),
});

const changeTask = (operationId: string, verb: 'cancel' | 'retry', summary: string, conflict: string) =>
  createRoute({
    operationId,
    method: 'post',
    path: `/v1/queues/{queue}/tasks/{id}:${verb}`,
    tags: ['tasks'],
    summary,
    description: 'Keys with the submit scope may change the tasks they submitted; admin keys any task.',
    request: { params: TaskParams },
    responses: {
      200: jsonResponse('The task as it is now', TaskSchema),
      ...problemResponses(401, 403, 404, 429, 503),
      409: problemResponse(409, conflict),
    },
  });

/** The operations below, for the OpenAPI document (the handlers validate: see redriveSchema). */
export const taskOpsOperations = [
  changeTask('cancelTask', 'cancel', 'Cancel a task that has not finished', 'The task has finished and cannot be cancelled'),
  changeTask(
    'retryTask',
    'retry',
    'Run a failed, dead-lettered or cancelled task again',
    'Only failed, dead-lettered or cancelled tasks can be retried',
  ),
  createRoute({
    operationId: 'redriveDeadLetter',
    method: 'post',
    path: '/v1/queues/{queue}/dead-letter:redrive',
    tags: ['dead-letter'],
    summary: 'Move dead-lettered tasks back into their queue (admin)',
    description:
      "They run again as new attempts with the queue's retry settings, oldest first. No body moves up to 1000. List them with `GET /v1/queues/{queue}.dead/tasks`.",
    request: { params: QueueParams, body: { required: false, content: { 'application/json': { schema: redriveSchema } } } },
    responses: {
      200: jsonResponse('How many were moved', RedriveResultSchema),
      ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    },
  }),
];

/** The task to change: it exists, this key can see it, and may change it. */
async function modifiable(deps: TaskOpsDeps, queue: string, principal: Principal, id: string): Promise<TaskRow> {
  const row = await getTask(deps.executeSql, queue, requireTaskId(id));
  if (!row || !canSee(principal, row.data?.meta?.submitter))
    throw problems.notFound('No task with this id in this queue (or not visible to this API key).');
  if (!canModify(principal, row.data?.meta?.submitter)) throw problems.forbidden('This API key may read this task but not change it.');
  return row;
}

/** The task as the store has it now, after a change. */
async function reread(deps: TaskOpsDeps, queue: string, id: string): Promise<TaskRow> {
  const now = await getTask(deps.executeSql, queue, id);
  if (!now) throw problems.notFound('The task no longer exists.');
  return now;
}

async function cancel(deps: TaskOpsDeps, queue: string, row: TaskRow, base: string): Promise<TaskView> {
  await deps.boss.cancel(queue, row.id);
  const now = await reread(deps, queue, row.id);
  if (now.state !== 'cancelled') {
    const state = taskState(now);
    throw problems.conflict(`The task is ${state} and cannot be cancelled.`, { state });
  }
  // It may be running: the replica that runs it aborts its handler (the completion is fenced anyway).
  if (row.state === 'active') await notifyCancelled(deps.executeSql, queue, row.id);
  return toTaskView(now, base);
}

async function retry(deps: TaskOpsDeps, queue: string, row: TaskRow, base: string): Promise<TaskView> {
  if (row.state === 'failed') {
    await deps.boss.retry(queue, row.id);
    // A dead-lettered task that is retried here should not also wait in the dead-letter queue.
    if (row.deadLetter) {
      await deleteDeadLetterCopy(deps.executeSql, row.deadLetter, row.id);
    }
  } else if (row.state === 'cancelled') {
    await deps.boss.resume(queue, row.id);
  } else {
    const state = taskState(row);
    throw problems.conflict(`Only failed, dead-lettered or cancelled tasks can be retried; this one is ${state}.`, { state });
  }
  return toTaskView(await reread(deps, queue, row.id), base);
}

export function taskOpsRoutes(deps: TaskOpsDeps): Hono<AppEnv> {
  const { config, boss } = deps;
  const app = new Hono<AppEnv>();

  app.post('/v1/queues/:queue/tasks/:target{[^/]+:(?:cancel|retry)}', async (c) => {
    const target = c.req.param('target');
    const at = target.lastIndexOf(':');
    const queue = c.req.param('queue');
    requireQueue(queue);
    const row = await modifiable(deps, queue, requireScope(c, 'submit'), target.slice(0, at));
    const op = target.slice(at + 1) === 'cancel' ? cancel : retry;
    return c.json(await op(deps, queue, row, baseUrl(c, config)));
  });

  app.post('/v1/queues/:queue/:op{dead-letter:redrive}', async (c) => {
    const queue = c.req.param('queue');
    const def = requireTaskType(queue);
    requireScope(c, 'admin');
    if (!def.defaults.deadLetter) throw problems.notFound(`${queue} has no dead-letter queue.`);
    const body =
      c.req.header('content-length') === '0' || !c.req.header('content-type') ? {} : await readJsonBody(c, config.api.bodyLimitBytes);
    const parsed = redriveSchema.safeParse(body);
    if (!parsed.success) throw problems.validation(zodFieldErrors(parsed.error));
    const dead = deadLetterQueueFor(queue);
    const moved = await boss.redrive(dead, { limit: parsed.data.limit, ...(parsed.data.ids ? { ids: parsed.data.ids } : {}) });
    deps.logger.info({ queue, deadLetterQueue: dead, moved }, 'redrove dead-lettered tasks');
    return c.json({ queue, deadLetterQueue: dead, moved });
  });
  return app;
}
