/**
 * Task reads: one task's status, and a queue's tasks newest first (cursor pagination). Dead-letter
 * queues can be read like any other. Enqueue is in enqueue.ts; cancel, retry and redrive in task-ops.ts.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { type Config, type ExecutePrepared, getTask, listTasks, PGBOSS_STATES_FOR, TASK_STATES, type TaskState } from '@taskfleet/core';
import { Hono } from 'hono';
import { zodFieldErrors } from '../enqueue/schema.ts';
import type { AppEnv } from '../env.ts';
import { requireQueue, requireTaskId, UUID } from '../known-queues.ts';
import { waitQuery, waitRoute } from '../long-poll/route.ts';
import type { TaskWaiters } from '../long-poll/waiters.ts';
import { canSee, hasScope, principalOf } from '../middleware/auth.ts';
import { jsonResponse, problemResponses, QueueParams, TaskPageSchema, TaskParams, TaskSchema } from '../openapi-schemas.ts';
import { problems } from '../problem.ts';
import { toTaskView } from '../task-view.ts';
import { baseUrl } from './base-url.ts';

export interface TaskReadDeps {
  config: Config;
  executeSql: ExecutePrepared;
  /** Long-poll (`waitSeconds`): this replica's waiters. */
  waiters: TaskWaiters;
}

const listQuery = z.strictObject({
  state: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(TASK_STATES)))
    .optional()
    .describe(`Comma-separated states: ${TASK_STATES.join(', ')} (default: all)`),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional().describe('`nextCursor` of the previous page'),
});

/** The operations below, for the OpenAPI document (the handlers validate: see listQuery). */
export const taskReadOperations = [
  createRoute({
    operationId: 'getTask',
    method: 'get',
    path: '/v1/queues/{queue}/tasks/{id}',
    tags: ['tasks'],
    summary: 'Task status',
    description:
      'State, priority, attempts, timestamps, payload, output, and the last error with the history of failed attempts. With `waitSeconds` (long-poll), the answer comes as soon as the task has ended (completed, failed, dead_lettered, cancelled) or when the wait is over, with its state then; `X-Wait-Outcome` says which (`ended`, `timeout`, `shutdown`).',
    request: { params: TaskParams, query: waitQuery },
    responses: { 200: waitRoute.okResponse(TaskSchema), ...problemResponses(401, 404, 422, 429, 503) },
  }),
  createRoute({
    operationId: 'listTasks',
    method: 'get',
    path: '/v1/queues/{queue}/tasks',
    tags: ['tasks'],
    summary: "A queue's tasks, newest first (cursor pagination)",
    description:
      'Keys without the read scope see only the tasks they submitted. Dead-letter queues (`<type>.dead`) are listed the same way.',
    request: { params: QueueParams, query: listQuery },
    responses: { 200: jsonResponse('A page of tasks', TaskPageSchema), ...problemResponses(401, 404, 422, 429, 503) },
  }),
];

/** The listing's position: the last row of the previous page (creation time to the microsecond, id). */
function decodeCursor(cursor: string | undefined): { createdOn: string; id: string } | undefined {
  if (!cursor) return undefined;
  try {
    const [createdOn, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(createdOn) || !UUID.test(id)) throw new Error('bad cursor');
    return { createdOn, id };
  } catch {
    throw problems.validation([{ field: 'cursor', message: 'is not a cursor returned by this endpoint' }]);
  }
}

/** queued and scheduled share a pg-boss state: ask the store for ready rows only, future ones only, or both. */
function readyFilter(states: TaskState[]): boolean | undefined {
  if (states.includes('waiting')) return undefined;
  if (states.includes('queued') && !states.includes('scheduled')) return true;
  if (!states.includes('queued') && states.includes('scheduled')) return false;
  return undefined;
}

export function taskReadRoutes(deps: TaskReadDeps): Hono<AppEnv> {
  const { config, executeSql } = deps;
  const app = new Hono<AppEnv>();

  app.get('/v1/queues/:queue/tasks/:id', async (c) => {
    const queue = c.req.param('queue');
    requireQueue(queue);
    const principal = principalOf(c);
    const waitSeconds = waitRoute.seconds(c.req.query('waitSeconds'));
    if (waitSeconds > 0) return waitRoute.answer(c, { ...deps, queue, id: requireTaskId(c.req.param('id')), waitSeconds });
    const row = await getTask(executeSql, queue, requireTaskId(c.req.param('id')));
    if (!row || !canSee(principal, row.data?.meta?.submitter))
      throw problems.notFound('No task with this id in this queue (or not visible to this API key).');
    return c.json(toTaskView(row, baseUrl(c, config)));
  });

  app.get('/v1/queues/:queue/tasks', async (c) => {
    const queue = c.req.param('queue');
    requireQueue(queue);
    const principal = principalOf(c);
    const parsed = listQuery.safeParse(c.req.query());
    if (!parsed.success) throw problems.validation(zodFieldErrors(parsed.error));
    const states = (parsed.data.state ?? [...TASK_STATES]) as TaskState[];
    const before = decodeCursor(parsed.data.cursor);
    const onlyReady = readyFilter(states);
    const { limit } = parsed.data;
    const rows = await listTasks(executeSql, {
      queue,
      states: [...new Set(states.flatMap((s) => PGBOSS_STATES_FOR[s]))],
      ...(hasScope(principal, 'read') ? {} : { submitter: principal.id }),
      ...(onlyReady !== undefined ? { ready: onlyReady } : {}),
      ...(before ? { before } : {}),
      limit: limit + 1,
    });
    const base = baseUrl(c, config);
    // dead_lettered vs failed share a pg-boss state: filter on the derived state.
    const page = rows.slice(0, limit);
    const tasks = page.map((r) => toTaskView(r, base)).filter((t) => states.includes(t.state));
    const last = page.at(-1);
    const nextCursor =
      rows.length > limit && last ? Buffer.from(JSON.stringify([last.createdOnExact, last.id])).toString('base64url') : null;
    return c.json({ tasks, nextCursor });
  });
  return app;
}
