/**
 * Enqueue one task: validate, build the row, hand it to the group committer, and answer — 202 with a
 * receipt for a new task, 200 with the stored task for an idempotent repeat, 409 when the key was used
 * for a different request. Plain inputs and a result object (no HTTP framework here); failures throw
 * the `problems.*` errors the error handler turns into problem+json.
 */
import { type Config, type EnqueueReceipt, getTask, type TaskRow, type TaskView } from '@taskfleet/core';
import type { ApiMetrics } from '../metrics.ts';
import { requireTaskType } from '../known-queues.ts';
import { queueDepthProblem } from '../middleware/admission.ts';
import { problems, shardFailure } from '../problem.ts';
import type { Lanes, ShardLane } from '../shards/lanes.ts';
import { dependencyShard, keyedShard, placeOnShard } from '../shards/placement.ts';
import { taskUrl, toTaskView } from '../task-view.ts';
import { buildTask, type NewTask, type Principal, reusedKey, validTraceparent } from './build.ts';
import { type DedupePlacement, settleDuplicate } from './dedupe.ts';
import { enqueueDependentTask } from './enqueue-dependent.ts';
import { GroupCommitClosedError, GroupCommitFullError, GroupCommitTimeoutError } from './group-commit.ts';
import { IDEMPOTENCY_KEY, validateTask } from './schema.ts';

export interface EnqueueDeps {
  config: Config;
  metrics: ApiMetrics;
  /** Per shard: the group committer, waker, depth shedder and transactions (shards/lanes.ts). */
  lanes: Lanes;
}

/** What an enqueue request brings besides its body. */
export interface EnqueueRequestInfo {
  queue: string;
  principal: Principal;
  requestId: string;
  /** The `traceparent` header as sent (kept only when well-formed). */
  traceparent: string | undefined;
  /** Scheme and host for status URLs (API_PUBLIC_URL or the request's own). */
  baseUrl: string;
}

export interface EnqueueTaskInput extends EnqueueRequestInfo {
  /** The parsed JSON body. */
  body: unknown;
  /** The `Idempotency-Key` header, used when the body has none. */
  headerKey: string | undefined;
}

/** The answer to send: its status, body and `Location` (the task's status URL). */
export type EnqueueTaskResult = { status: 202; location: string; body: EnqueueReceipt } | { status: 200; location: string; body: TaskView };

function commitError(metrics: ApiMetrics, err: unknown): never {
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

/** Answer for a task whose row already existed: 200 with it for an idempotent repeat, 409 for a reused key. */
export function duplicateResult(task: NewTask, existing: TaskRow, base: string, metrics: ApiMetrics): EnqueueTaskResult {
  if (reusedKey(existing, task)) {
    throw problems.conflict('This idempotency key was already used for a different request.', { taskId: existing.id });
  }
  metrics.countEnqueued(existing.name, 'duplicate');
  const view = toTaskView(existing, base);
  return { status: 200, location: view.statusUrl, body: view };
}

function buildOne(input: EnqueueTaskInput): NewTask {
  const def = requireTaskType(input.queue);
  const { headerKey } = input;
  if (headerKey !== undefined && !IDEMPOTENCY_KEY.safeParse(headerKey).success) {
    throw problems.validation([{ field: 'Idempotency-Key', message: 'must be 1–255 printable ASCII characters without spaces' }]);
  }
  const validated = validateTask(input.body, def);
  if (!validated.ok) throw problems.validation(validated.errors);
  if (headerKey !== undefined && validated.request.dedupe) {
    throw problems.validation([
      { field: 'Idempotency-Key', message: 'give an Idempotency-Key or dedupe, not both (the dedupe key already identifies the task)' },
    ]);
  }
  return buildTask({
    def,
    request: validated.request,
    payload: validated.payload,
    principal: input.principal,
    requestId: input.requestId,
    traceparent: validTraceparent(input.traceparent),
    headerKey,
  });
}

/** Hand a row to its shard's group commit; its failures become the API's problems. */
function submitRow(lane: ShardLane, metrics: ApiMetrics, queue: string, row: NewTask['row']): Promise<boolean> {
  return lane.committer.submit(queue, row).catch((err: unknown) => commitError(metrics, err));
}

/**
 * A multi-shard map: the task's shard (shards/placement.ts), its id stamped with it, and that
 * shard's depth shedding (with one shard, admission sheds before the body is read).
 */
function placeTask(task: NewTask, deps: EnqueueDeps): ShardLane {
  const { shards } = deps.lanes;
  const byDependencies = task.dependsOn ? dependencyShard(task, shards, 'dependsOn') : undefined;
  if (byDependencies && 'field' in byDependencies) throw problems.validation([byDependencies]);
  const shard = byDependencies ?? keyedShard(task, shards);
  placeOnShard(task, shard);
  const lane = deps.lanes.of(shard);
  if (lane.shedder.shouldShed(task.queue)) {
    deps.metrics.shed.inc({ reason: 'queue_depth' });
    throw queueDepthProblem(deps.config, task.queue, shard.id);
  }
  return lane;
}

function acceptedResult(task: NewTask, base: string, metrics: ApiMetrics): EnqueueTaskResult {
  const { queue, id } = task;
  metrics.countEnqueued(queue, 'accepted');
  const statusUrl = taskUrl(base, queue, id);
  return { status: 202, location: statusUrl, body: { id, queue, state: task.scheduled ? 'scheduled' : 'queued', statusUrl } };
}

/**
 * One shard: straight to the home lane (nothing hashed, no extra frame; a database that does not
 * answer is the error handler's plain 503). Several: the task's shard, and a 503 naming it when its
 * database does not answer (its tasks only; the other shards take theirs).
 */
export function enqueueTask(input: EnqueueTaskInput, deps: EnqueueDeps): Promise<EnqueueTaskResult> {
  if (!deps.lanes.sharded) return enqueueOnLane(input, buildOne(input), deps, deps.lanes.home);
  return enqueueOnShard(input, deps);
}

async function enqueueOnShard(input: EnqueueTaskInput, deps: EnqueueDeps): Promise<EnqueueTaskResult> {
  const task = buildOne(input);
  const lane = placeTask(task, deps);
  try {
    return await enqueueOnLane(input, task, deps, lane);
  } catch (err) {
    throw shardFailure(lane.shard, err);
  }
}

async function enqueueOnLane(input: EnqueueTaskInput, task: NewTask, deps: EnqueueDeps, lane: ShardLane): Promise<EnqueueTaskResult> {
  const { metrics } = deps;
  const { executeSql } = lane.shard;
  const { queue, baseUrl: base } = input;
  if (task.dependsOn) return enqueueDependentTask(input, task, deps, lane);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await submitRow(lane, metrics, queue, task.row)) return acceptedResult(task, base, metrics);
    if (task.dedupe) {
      const settled = await settleDuplicate(task as NewTask & { dedupe: DedupePlacement }, executeSql, (row) =>
        submitRow(lane, metrics, queue, row),
      );
      if (settled.kind === 'accepted') return acceptedResult(task, base, metrics);
      metrics.countEnqueued(queue, settled.kind);
      const view = toTaskView(settled.row, base);
      return { status: 200, location: view.statusUrl, body: view };
    }
    const existing = await getTask(executeSql, queue, task.id);
    if (existing) return duplicateResult(task, existing, base, metrics);
    // The earlier row was deleted (retention) between the insert and the read: insert again.
  }
  throw problems.unavailable('The task could not be stored; retry.');
}
