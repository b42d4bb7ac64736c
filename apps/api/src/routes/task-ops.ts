/**
 * Changing tasks: `POST …/tasks/{id}:cancel` and `…:retry` (Google API style custom methods), and
 * `POST /v1/queues/{queue}/dead-letter:redrive`, which moves dead-lettered tasks back into their queue
 * (oldest first) as new attempts with the queue's retry settings (admin only).
 *
 * A task is changed on its shard's primary (the shard its id names: shards/locate.ts); a redrive
 * moves each shard's dead-lettered tasks on that shard.
 */
import {
  notifyCancelled,
  type Config,
  deadLetterQueueFor,
  deleteDeadLetterCopy,
  getTask,
  type Logger,
  type Shard,
  type TaskRow,
  taskState,
} from '@taskfleet/core';
import { createRoute, z } from '@hono/zod-openapi';
import { Hono } from 'hono';
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
import { ApiError, problems, shardFailure } from '../problem.ts';
import { markMissing, missingShardsHeaders } from '../shards/fan-out.ts';
import type { Lanes } from '../shards/lanes.ts';
import { locateTask } from '../shards/locate.ts';
import { type TaskView, toTaskView } from '../task-view.ts';
import { baseUrl } from './base-url.ts';

export interface TaskOpsDeps {
  config: Config;
  lanes: Lanes;
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
      "They run again as new attempts with the queue's retry settings, oldest first. No body moves up to 1000. List them with `GET /v1/queues/{queue}.dead/tasks`. With several shards each shard's tasks are moved on it (up to `limit` in all); a shard whose database is unavailable is skipped and named in `X-Missing-Shards`.",
    request: { params: QueueParams, body: { required: false, content: { 'application/json': { schema: redriveSchema } } } },
    responses: {
      200: { ...jsonResponse('How many were moved', RedriveResultSchema), headers: missingShardsHeaders },
      ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    },
  }),
];

/** The task to change: it exists, this key can see it, and may change it; and the shard it is on. */
async function modifiable(deps: TaskOpsDeps, queue: string, principal: Principal, id: string): Promise<{ row: TaskRow; shard: Shard }> {
  const { lane, value: row } = await locateTask(deps.lanes, requireTaskId(id), ({ shard }) => getTask(shard.executeSql, queue, id));
  if (!row || !canSee(principal, row.data?.meta?.submitter))
    throw problems.notFound('No task with this id in this queue (or not visible to this API key).');
  if (!canModify(principal, row.data?.meta?.submitter)) throw problems.forbidden('This API key may read this task but not change it.');
  return { row, shard: lane.shard };
}

/** The task as the store has it now, after a change. */
async function reread(shard: Shard, queue: string, id: string): Promise<TaskRow> {
  const now = await getTask(shard.executeSql, queue, id);
  if (!now) throw problems.notFound('The task no longer exists.');
  return now;
}

async function cancel(shard: Shard, queue: string, row: TaskRow, base: string): Promise<TaskView> {
  await shard.boss.cancel(queue, row.id);
  const now = await reread(shard, queue, row.id);
  if (now.state !== 'cancelled') {
    const state = taskState(now);
    throw problems.conflict(`The task is ${state} and cannot be cancelled.`, { state });
  }
  // It may be running: the replica that runs it aborts its handler (the completion is fenced anyway).
  if (row.state === 'active') await notifyCancelled(shard.executeSql, queue, row.id);
  return toTaskView(now, base);
}

async function retry(shard: Shard, queue: string, row: TaskRow, base: string): Promise<TaskView> {
  if (row.state === 'failed') {
    await shard.boss.retry(queue, row.id);
    // A dead-lettered task that is retried here should not also wait in the dead-letter queue.
    if (row.deadLetter) {
      await deleteDeadLetterCopy(shard.executeSql, row.deadLetter, row.id);
    }
  } else if (row.state === 'cancelled') {
    await shard.boss.resume(queue, row.id);
  } else {
    const state = taskState(row);
    throw problems.conflict(`Only failed, dead-lettered or cancelled tasks can be retried; this one is ${state}.`, { state });
  }
  return toTaskView(await reread(shard, queue, row.id), base);
}

/**
 * Move up to `limit` dead-lettered tasks back, shard after shard (given ids: each on the shards that
 * hold them). A shard that does not answer is skipped and reported.
 */
async function redrive(deps: TaskOpsDeps, dead: string, limit: number, ids: string[] | undefined) {
  if (!deps.lanes.sharded) {
    return { moved: await deps.lanes.home.shard.boss.redrive(dead, { limit, ...(ids ? { ids } : {}) }), missing: [] as number[] };
  }
  let moved = 0;
  const missing: number[] = [];
  let down: unknown;
  for (const { shard } of deps.lanes.all) {
    if (moved >= limit) break;
    try {
      moved += await shard.boss.redrive(dead, { limit: limit - moved, ...(ids ? { ids } : {}) });
    } catch (err) {
      const failure = shardFailure(shard, err);
      if (!(failure instanceof ApiError && failure.problemType === 'shard-unavailable')) throw failure;
      missing.push(shard.id);
      down ??= failure;
    }
  }
  if (missing.length === deps.lanes.all.length) throw down;
  return { moved, missing };
}

export function taskOpsRoutes(deps: TaskOpsDeps): Hono<AppEnv> {
  const { config } = deps;
  const app = new Hono<AppEnv>();

  app.post('/v1/queues/:queue/tasks/:target{[^/]+:(?:cancel|retry)}', async (c) => {
    const target = c.req.param('target');
    const at = target.lastIndexOf(':');
    const queue = c.req.param('queue');
    requireQueue(queue);
    const { row, shard } = await modifiable(deps, queue, requireScope(c, 'submit'), target.slice(0, at));
    const op = target.slice(at + 1) === 'cancel' ? cancel : retry;
    try {
      return c.json(await op(shard, queue, row, baseUrl(c, config)));
    } catch (err) {
      throw deps.lanes.failure(shard, err);
    }
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
    const { moved, missing } = await redrive(deps, dead, parsed.data.limit, parsed.data.ids);
    deps.logger.info(
      { queue, deadLetterQueue: dead, moved, ...(missing.length ? { missingShards: missing } : {}) },
      'redrove dead-lettered tasks',
    );
    markMissing(c, missing);
    return c.json({ queue, deadLetterQueue: dead, moved });
  });
  return app;
}
