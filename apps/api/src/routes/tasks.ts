/**
 * Task reads: one task's status (by queue and id, or by id alone), and a queue's tasks newest first
 * (cursor pagination). Dead-letter queues can be read like any other. Enqueue is in enqueue.ts;
 * cancel, retry and redrive in task-ops.ts.
 *
 * A status read goes to the one shard its id names, on a replica when one is healthy and to the
 * primary when the replica has no such row yet (read-your-writes: a task acknowledged a moment ago is
 * never a 404). A listing reads every shard and merges their pages (see `listAcrossShards`).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { type Config, deadLetterQueueFor, readTaskStatus, type TaskRow, taskNames } from '@taskfleet/core';
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { knownQueue, requireQueue, requireTaskId } from '../known-queues.ts';
import type { LongPoll } from '../long-poll/index.ts';
import { waitQuery, waitRoute } from '../long-poll/route.ts';
import { canSee, principalOf } from '../middleware/auth.ts';
import { jsonResponse, problemResponses, QueueParams, TaskPageSchema, TaskParams, TaskSchema } from '../openapi-schemas.ts';
import { listQuery, listTasksAcrossShards } from './task-list.ts';
import { problems } from '../problem.ts';
import type { Lanes } from '../shards/lanes.ts';
import { locateTask } from '../shards/locate.ts';
import { toTaskView } from '../task-view.ts';
import { missingShardsHeaders } from '../shards/fan-out.ts';
import { baseUrl } from './base-url.ts';

export interface TaskReadDeps {
  config: Config;
  lanes: Lanes;
  /** Long-poll (`waitSeconds`): this replica's waiters, per shard. */
  longPoll: LongPoll;
}

const TASK_ID = z.object({ id: z.uuid().openapi({ description: 'Task id' }) });
const GONE = 'No task with this id in this queue (or not visible to this API key).';
const GONE_ANY = 'No task has this id (or it is not visible to this API key).';

/** The operations below, for the OpenAPI document (the handlers validate: see listQuery). */
export const taskReadOperations = [
  createRoute({
    operationId: 'getTask',
    method: 'get',
    path: '/v1/queues/{queue}/tasks/{id}',
    tags: ['tasks'],
    summary: 'Task status',
    description:
      "State, priority, attempts, timestamps, payload, output, and the last error with the history of failed attempts. With `waitSeconds` (long-poll), the answer comes as soon as the task has ended (completed, failed, dead_lettered, cancelled) or when the wait is over, with its state then; `X-Wait-Outcome` says which (`ended`, `timeout`, `shutdown`).\n\nThe id names the task's shard: the read goes to that shard only (a replica when one is healthy, the primary when the replica has not replayed the task yet). When that shard's database is unavailable the answer is 503 with the shard's id.",
    request: { params: TaskParams, query: waitQuery },
    responses: { 200: waitRoute.okResponse(TaskSchema), ...problemResponses(401, 404, 422, 429, 503) },
  }),
  createRoute({
    operationId: 'getTaskById',
    method: 'get',
    path: '/v1/tasks/{id}',
    tags: ['tasks'],
    summary: 'Task status by id alone (any queue)',
    description: 'The same answer as `GET /v1/queues/{queue}/tasks/{id}`, `waitSeconds` included, for a client that kept only the id.',
    request: { params: TASK_ID, query: waitQuery },
    responses: { 200: waitRoute.okResponse(TaskSchema), ...problemResponses(401, 404, 422, 429, 503) },
  }),
  createRoute({
    operationId: 'listTasks',
    method: 'get',
    path: '/v1/queues/{queue}/tasks',
    tags: ['tasks'],
    summary: "A queue's tasks, newest first (cursor pagination)",
    description:
      'Keys without the read scope see only the tasks they submitted. Dead-letter queues (`<type>.dead`) are listed the same way.\n\nWith several shards every shard is read and the pages merged in the same order, so cursors work as with one. A shard whose database is unavailable is left out and named in `X-Missing-Shards` (the page is partial; it is not an error).',
    request: { params: QueueParams, query: listQuery },
    responses: {
      200: { ...jsonResponse('A page of tasks', TaskPageSchema), headers: missingShardsHeaders },
      ...problemResponses(401, 404, 422, 429, 503),
    },
  }),
];

/** Every queue a task can be in: the task types and their dead-letter queues. */
function allQueues(): string[] {
  return taskNames()
    .flatMap((name) => [name, deadLetterQueueFor(name)])
    .filter(knownQueue);
}

export function taskReadRoutes(deps: TaskReadDeps): Hono<AppEnv> {
  const { config, lanes, longPoll } = deps;
  const app = new Hono<AppEnv>();

  /**
   * The task's current row (or, with waitSeconds, the long-poll answer), from the shard its id names
   * (shards/locate.ts). One shard and a known queue with waitSeconds: the waiters read it themselves.
   */
  async function answer(c: Parameters<typeof waitRoute.answer>[0], queue: string | undefined): Promise<Response> {
    const waitSeconds = waitRoute.seconds(c.req.query('waitSeconds'));
    const id = requireTaskId(c.req.param('id') ?? '');
    let lane = lanes.home;
    let row: TaskRow | undefined;
    if (!lanes.sharded && queue !== undefined) {
      // One shard, the hot status poll: one read, as before shards (a wait reads for itself).
      if (waitSeconds === 0) row = await readTaskStatus(lane.shard.reads.executeFound, queue, id);
    } else {
      ({ lane, value: row } = await locateTask(lanes, id, ({ shard }) =>
        readTaskStatus(shard.reads.executeFound, queue ?? allQueues(), id),
      ));
      if (!row) throw problems.notFound(queue ? GONE : GONE_ANY);
    }
    if (waitSeconds > 0) {
      const { shard } = lane;
      const target = { config, waiters: longPoll.waitersOf(shard), queue: queue ?? (row as TaskRow).name, id, waitSeconds };
      try {
        return await waitRoute.answer(c, target);
      } catch (err) {
        throw lanes.failure(shard, err);
      }
    }
    if (!row || !canSee(principalOf(c), row.data?.meta?.submitter)) throw problems.notFound(queue ? GONE : GONE_ANY);
    return c.json(toTaskView(row, baseUrl(c, config)));
  }

  app.get('/v1/queues/:queue/tasks/:id', (c) => {
    const queue = c.req.param('queue');
    requireQueue(queue);
    return answer(c, queue);
  });

  app.get('/v1/tasks/:id', (c) => answer(c, undefined));

  app.get('/v1/queues/:queue/tasks', (c) => listTasksAcrossShards(c, deps));
  return app;
}
