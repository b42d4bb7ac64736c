/**
 * Task endpoints: enqueue one (group commit), enqueue a batch (one insert), read, list, cancel,
 * retry. Queue names come from the task registry; dead-letter queues can be read but not fed.
 */
import type { ExecutePrepared } from '@taskfleet/core';
import type { Context } from 'hono';
import { Hono } from 'hono';
import {
  type Config,
  deadLetterQueueFor,
  getTaskDefinition,
  isDeadLetterQueue,
  type Logger,
  PGBOSS_STATES_FOR,
  TASK_STATES,
  type TaskState,
  taskState,
} from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { z } from 'zod';
import { readJsonBody } from '../body.ts';
import { buildTask, type NewTask, validTraceparent } from '../enqueue/build.ts';
import {
  GroupCommitClosedError,
  type GroupCommitter,
  GroupCommitFullError,
  GroupCommitTimeoutError,
  insertDeduped,
} from '../enqueue/group-commit.ts';
import { batchRequestSchema, IDEMPOTENCY_KEY, validateTask, zodFieldErrors } from '../enqueue/schema.ts';
import type { ApiMetrics } from '../metrics.ts';
import { canModify, canSee, hasScope, principalOf, requireScope } from '../middleware/auth.ts';
import { type FieldError, problems } from '../problem.ts';
import type { DepthShedder } from '../queue-stats.ts';
import { insertTasks } from '../sql/insert-tasks.ts';
import { getTask, getTasks, listTasks, type TaskRow } from '../sql/tasks.ts';
import { toTaskView, taskUrl } from '../task-view.ts';

export interface TaskRouteDeps {
  config: Config;
  boss: PgBoss;
  executeSql: ExecutePrepared;
  committer: GroupCommitter;
  shedder: DepthShedder;
  metrics: ApiMetrics;
  logger: Logger;
  isDraining: () => boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function baseUrl(c: Context, config: Config): string {
  if (config.api.publicUrl) return config.api.publicUrl.replace(/\/$/, '');
  const url = new URL(c.req.url);
  return `${url.protocol}//${url.host}`;
}

function knownQueue(queue: string): boolean {
  return (
    getTaskDefinition(queue) !== undefined || (isDeadLetterQueue(queue) && getTaskDefinition(queue.slice(0, -'.dead'.length)) !== undefined)
  );
}

function requireQueue(queue: string): void {
  if (!knownQueue(queue)) throw problems.notFound(`There is no queue named ${JSON.stringify(queue)}.`);
}

function requireTaskType(queue: string) {
  const def = getTaskDefinition(queue);
  if (!def) {
    if (knownQueue(queue)) throw problems.notFound(`${queue} is a dead-letter queue; tasks cannot be submitted to it.`);
    throw problems.notFound(`There is no queue named ${JSON.stringify(queue)}.`);
  }
  return def;
}

function requireTaskId(id: string): string {
  if (!UUID.test(id)) throw problems.notFound('No task has this id (task ids are UUIDs).');
  return id.toLowerCase();
}

export function taskRoutes(deps: TaskRouteDeps): Hono {
  const { config, boss, executeSql, committer, shedder, metrics } = deps;
  const app = new Hono();
  let admitted = 0;

  /** Admission control for enqueue routes: bounded concurrency, refusal while draining or when the queue is too deep. */
  async function admit<T>(c: Context, queue: string, work: () => Promise<T>): Promise<T> {
    if (deps.isDraining()) {
      metrics.shed.inc({ reason: 'draining' });
      throw problems.unavailable('This API replica is shutting down; retry (another replica will answer).', 1);
    }
    if (admitted >= config.api.maxConcurrentRequests) {
      metrics.shed.inc({ reason: 'concurrency' });
      throw problems.overloaded(`More than ${config.api.maxConcurrentRequests} enqueue requests are in progress on this replica.`);
    }
    requireScope(c, 'submit');
    requireTaskType(queue);
    if (shedder.shouldShed(queue)) {
      metrics.shed.inc({ reason: 'queue_depth' });
      throw problems.overloaded(
        `Queue ${queue} has more than ${config.api.shedReadyDepth} ready tasks; new tasks are refused until workers catch up.`,
        5,
      );
    }
    admitted++;
    try {
      return await work();
    } finally {
      admitted--;
    }
  }

  function commitError(err: unknown): never {
    if (err instanceof GroupCommitFullError) {
      metrics.shed.inc({ reason: 'buffer' });
      throw problems.overloaded(`${err.message}; retry shortly.`);
    }
    if (err instanceof GroupCommitTimeoutError) {
      metrics.shed.inc({ reason: 'timeout' });
      throw problems.overloaded(`${err.message}; retry shortly.`, 2);
    }
    if (err instanceof GroupCommitClosedError) throw problems.unavailable('This API replica is shutting down; retry.', 1);
    throw err;
  }

  /** Answer for a task whose row already existed (idempotent repeat, or a conflicting reuse of the key). */
  function duplicateAnswer(task: NewTask, existing: TaskRow | undefined, base: string) {
    if (!existing) return { kind: 'missing' as const };
    if (existing.data?.meta?.requestHash !== task.requestHash) {
      return { kind: 'conflict' as const, id: existing.id };
    }
    return { kind: 'same' as const, view: toTaskView(existing, base) };
  }

  app.post('/v1/queues/:queue/tasks', async (c) => {
    const queue = c.req.param('queue');
    return admit(c, queue, async () => {
      const def = requireTaskType(queue);
      const body = await readJsonBody(c, config.api.bodyLimitBytes);
      const headerKey = c.req.header('idempotency-key');
      if (headerKey !== undefined && !IDEMPOTENCY_KEY.safeParse(headerKey).success) {
        throw problems.validation([{ field: 'Idempotency-Key', message: 'must be 1–255 printable ASCII characters without spaces' }]);
      }
      const validated = validateTask(body, def);
      if (!validated.ok) throw problems.validation(validated.errors);
      const principal = principalOf(c);
      const task = buildTask({
        def,
        request: validated.request,
        payload: validated.payload,
        principal,
        requestId: c.get('requestId' as never) as string,
        traceparent: validTraceparent(c.req.header('traceparent')),
        headerKey,
      });
      const base = baseUrl(c, config);
      for (let attempt = 0; attempt < 2; attempt++) {
        const inserted = await committer.submit(queue, task.row).catch(commitError);
        if (inserted) {
          metrics.enqueued.inc({ queue, outcome: 'accepted' });
          const statusUrl = taskUrl(base, queue, task.id);
          c.header('location', statusUrl);
          return c.json({ id: task.id, queue, state: task.scheduled ? 'scheduled' : 'queued', statusUrl }, 202);
        }
        const answer = duplicateAnswer(task, await getTask(executeSql, queue, task.id), base);
        if (answer.kind === 'same') {
          metrics.enqueued.inc({ queue, outcome: 'duplicate' });
          c.header('location', answer.view.statusUrl);
          return c.json(answer.view, 200);
        }
        if (answer.kind === 'conflict') {
          throw problems.conflict('This idempotency key was already used for a different request.', { taskId: answer.id });
        }
        // The earlier row was deleted (retention) between the insert and the read: insert again.
      }
      throw problems.unavailable('The task could not be stored; retry.');
    });
  });

  app.post('/v1/queues/:queue/:op{tasks:batch}', async (c) => {
    const queue = c.req.param('queue');
    return admit(c, queue, async () => {
      const def = requireTaskType(queue);
      const body = await readJsonBody(c, config.api.batchBodyLimitBytes);
      const parsed = batchRequestSchema.safeParse(body);
      if (!parsed.success) throw problems.validation(zodFieldErrors(parsed.error));
      const items = parsed.data.tasks;
      if (items.length > config.api.batchMaxTasks) {
        throw problems.validation([
          { field: 'tasks', message: `at most ${config.api.batchMaxTasks} tasks per batch (got ${items.length})` },
        ]);
      }
      const principal = principalOf(c);
      const requestId = c.get('requestId' as never) as string;
      const traceparent = validTraceparent(c.req.header('traceparent'));
      const base = baseUrl(c, config);
      type Result = {
        index: number;
        status: 'accepted' | 'duplicate' | 'conflict' | 'invalid';
        id?: string;
        statusUrl?: string;
        errors?: FieldError[];
      };
      const results: Result[] = new Array(items.length);
      const built: { index: number; task: NewTask }[] = [];
      items.forEach((item, index) => {
        const v = validateTask(item, def, `tasks[${index}]`);
        if (!v.ok) results[index] = { index, status: 'invalid', errors: v.errors };
        else
          built.push({
            index,
            task: buildTask({ def, request: v.request, payload: v.payload, principal, requestId, traceparent, headerKey: undefined }),
          });
      });
      if (built.length === 0)
        throw problems.validation(
          results.flatMap((r) => r.errors ?? []),
          'No task in the batch is valid.',
        );
      const outcomes = await insertDeduped(
        (q, rows) => insertTasks(executeSql, q, rows),
        queue,
        built.map((b) => b.task.row),
      );
      const duplicates = built.filter((b) => outcomes.get(b.task.row) === false);
      const existing = duplicates.length
        ? await getTasks(
            executeSql,
            queue,
            duplicates.map((d) => d.task.id),
          )
        : new Map<string, TaskRow>();
      for (const { index, task } of built) {
        const outcome = outcomes.get(task.row);
        if (outcome instanceof Error) throw outcome;
        const statusUrl = taskUrl(base, queue, task.id);
        if (outcome) results[index] = { index, status: 'accepted', id: task.id, statusUrl };
        else {
          const row = existing.get(task.id);
          const conflict = row && row.data?.meta?.requestHash !== task.requestHash;
          results[index] = { index, status: conflict ? 'conflict' : 'duplicate', id: task.id, statusUrl };
        }
      }
      const count = (s: Result['status']) => results.filter((r) => r.status === s).length;
      const summary = {
        accepted: count('accepted'),
        duplicate: count('duplicate'),
        conflict: count('conflict'),
        invalid: count('invalid'),
      };
      metrics.enqueued.inc({ queue, outcome: 'accepted' }, summary.accepted);
      if (summary.duplicate) metrics.enqueued.inc({ queue, outcome: 'duplicate' }, summary.duplicate);
      return c.json({ ...summary, results }, summary.accepted > 0 ? 202 : 200);
    });
  });

  app.get('/v1/queues/:queue/tasks/:id', async (c) => {
    const queue = c.req.param('queue');
    requireQueue(queue);
    const principal = principalOf(c);
    const row = await getTask(executeSql, queue, requireTaskId(c.req.param('id')));
    if (!row || !canSee(principal, row.data?.meta?.submitter))
      throw problems.notFound('No task with this id in this queue (or not visible to this API key).');
    return c.json(toTaskView(row, baseUrl(c, config)));
  });

  const listQuery = z.strictObject({
    state: z
      .string()
      .transform((s) => s.split(','))
      .pipe(z.array(z.enum(TASK_STATES)))
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(200).optional(),
  });

  app.get('/v1/queues/:queue/tasks', async (c) => {
    const queue = c.req.param('queue');
    requireQueue(queue);
    const principal = principalOf(c);
    const parsed = listQuery.safeParse(c.req.query());
    if (!parsed.success) throw problems.validation(zodFieldErrors(parsed.error));
    const states = (parsed.data.state ?? [...TASK_STATES]) as TaskState[];
    let before: { createdOn: string; id: string } | undefined;
    if (parsed.data.cursor) {
      try {
        const [createdOn, id] = JSON.parse(Buffer.from(parsed.data.cursor, 'base64url').toString('utf8')) as [string, string];
        if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(createdOn) || !UUID.test(id)) throw new Error('bad cursor');
        before = { createdOn, id };
      } catch {
        throw problems.validation([{ field: 'cursor', message: 'is not a cursor returned by this endpoint' }]);
      }
    }
    const onlyReady =
      states.includes('queued') && !states.includes('scheduled')
        ? true
        : !states.includes('queued') && states.includes('scheduled')
          ? false
          : undefined;
    const rows = await listTasks(executeSql, {
      queue,
      states: [...new Set(states.flatMap((s) => PGBOSS_STATES_FOR[s]))],
      ...(hasScope(principal, 'read') ? {} : { submitter: principal.id }),
      ...(onlyReady !== undefined ? { ready: onlyReady } : {}),
      ...(before ? { before } : {}),
      limit: parsed.data.limit + 1,
    });
    const base = baseUrl(c, config);
    // dead_lettered vs failed share a pg-boss state: filter on the derived state.
    const page = rows.slice(0, parsed.data.limit);
    const tasks = page.map((r) => toTaskView(r, base)).filter((t) => states.includes(t.state));
    const last = page.at(-1);
    const nextCursor =
      rows.length > parsed.data.limit && last ? Buffer.from(JSON.stringify([last.createdOnExact, last.id])).toString('base64url') : null;
    return c.json({ tasks, nextCursor });
  });

  async function modifiable(c: Context, id: string): Promise<{ queue: string; row: TaskRow }> {
    const queue = c.req.param('queue') as string;
    requireQueue(queue);
    const principal = requireScope(c, 'submit');
    const row = await getTask(executeSql, queue, requireTaskId(id));
    if (!row || !canSee(principal, row.data?.meta?.submitter))
      throw problems.notFound('No task with this id in this queue (or not visible to this API key).');
    if (!canModify(principal, row.data?.meta?.submitter)) throw problems.forbidden('This API key may read this task but not change it.');
    return { queue, row };
  }

  // `POST …/tasks/{id}:cancel` and `…:retry` (Google API style custom methods).
  app.post('/v1/queues/:queue/tasks/:target{[^/]+:(?:cancel|retry)}', async (c) => {
    const target = c.req.param('target');
    const at = target.lastIndexOf(':');
    const { queue, row } = await modifiable(c, target.slice(0, at));
    return target.slice(at + 1) === 'cancel' ? cancel(c, queue, row) : retry(c, queue, row);
  });

  async function cancel(c: Context, queue: string, row: TaskRow): Promise<Response> {
    await boss.cancel(queue, row.id);
    const now = await getTask(executeSql, queue, row.id);
    if (!now) throw problems.notFound('The task no longer exists.');
    if (now.state !== 'cancelled') {
      const state = taskState(now);
      throw problems.conflict(`The task is ${state} and cannot be cancelled.`, { state });
    }
    return c.json(toTaskView(now, baseUrl(c, config)));
  }

  async function retry(c: Context, queue: string, row: TaskRow): Promise<Response> {
    if (row.state === 'failed') {
      await boss.retry(queue, row.id);
      // A dead-lettered task that is retried here should not also wait in the dead-letter queue.
      if (row.deadLetter) {
        await executeSql(`DELETE FROM pgboss.job WHERE name = $1 AND source_id = $2 AND state = 'created'`, [row.deadLetter, row.id]);
      }
    } else if (row.state === 'cancelled') {
      await boss.resume(queue, row.id);
    } else {
      const state = taskState(row);
      throw problems.conflict(`Only failed, dead-lettered or cancelled tasks can be retried; this one is ${state}.`, { state });
    }
    const now = await getTask(executeSql, queue, row.id);
    if (!now) throw problems.notFound('The task no longer exists.');
    return c.json(toTaskView(now, baseUrl(c, config)));
  }

  const redriveSchema = z.strictObject({
    limit: z.number().int().min(1).max(10_000).default(1000),
    ids: z.array(z.string().regex(UUID, 'must be a task id (UUID)')).min(1).max(10_000).optional(),
  });

  // `POST /v1/queues/{queue}/dead-letter:redrive`: move dead-lettered tasks back into their queue
  // (oldest first), as new attempts with the queue's retry settings. Admin only.
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
