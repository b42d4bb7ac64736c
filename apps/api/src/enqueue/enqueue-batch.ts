/**
 * Enqueue a batch in one insert, with a result per item: accepted, duplicate (idempotency key seen
 * before, or a throttled dedup window's task), replaced (a debounced window's waiting task took this
 * item's content), conflict (key reused with a different request), invalid (with field errors). Valid items
 * are stored even when others are invalid; a batch with no valid item is a 422. Plain inputs and a
 * result object (no HTTP framework here).
 */
import { type BatchItemResult, type BatchResult, getTasks, insertTasks, type TaskDefinition, type TaskRow } from '@taskfleet/core';
import { requireTaskType } from '../known-queues.ts';
import { problems } from '../problem.ts';
import { taskUrl } from '../task-view.ts';
import { buildTask, type NewTask, reusedKey, validTraceparent } from './build.ts';
import { type DedupePlacement, settleDuplicate } from './dedupe.ts';
import { insertDependentItems } from './enqueue-dependent.ts';
import type { EnqueueDeps, EnqueueRequestInfo } from './enqueue-task.ts';
import type { ShardLane } from '../shards/lanes.ts';
import { storeAcrossShards } from './batch-shards.ts';
import { insertDeduped } from './group-commit.ts';
import { batchRequestSchema, validateTask, zodFieldErrors } from './schema.ts';

export interface EnqueueBatchInput extends EnqueueRequestInfo {
  /** The parsed JSON body. */
  body: unknown;
}

/** 202 when at least one task was accepted, else 200. */
export interface EnqueueBatchResult {
  status: 200 | 202;
  body: BatchResult;
  /** Shards whose items are `unavailable` (not acknowledged: retry them). */
  missing: number[];
}

export interface Built {
  index: number;
  task: NewTask;
}

/** The batch's items: the schema and size checked, each item validated (invalid ones get their result now). */
export function parseItems(
  input: EnqueueBatchInput,
  def: TaskDefinition,
  maxTasks: number,
): { results: BatchItemResult[]; built: Built[] } {
  const parsed = batchRequestSchema.safeParse(input.body);
  if (!parsed.success) throw problems.validation(zodFieldErrors(parsed.error));
  const items = parsed.data.tasks;
  if (items.length > maxTasks) {
    throw problems.validation([{ field: 'tasks', message: `at most ${maxTasks} tasks per batch (got ${items.length})` }]);
  }
  const { principal, requestId } = input;
  const traceparent = validTraceparent(input.traceparent);
  const results: BatchItemResult[] = new Array(items.length);
  const built: Built[] = [];
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
  return { results, built };
}

/** Insert the valid items of one shard (one statement) and record each one's outcome in `results`. */
async function insertItems(input: EnqueueBatchInput, lane: ShardLane, built: Built[], results: BatchItemResult[]): Promise<void> {
  const { wake } = lane;
  const { executeSql } = lane.shard;
  const { queue, baseUrl: base } = input;
  const insertOne = async (row: NewTask['row']) => (await insertTasks(executeSql, queue, [row], wake)).length === 1;
  const outcomes = await insertDeduped(
    (q, rows) => insertTasks(executeSql, q, rows, wake),
    queue,
    built.map((b) => b.task.row),
  );
  const duplicates = built.filter((b) => outcomes.get(b.task.row) === false && !b.task.dedupe);
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
    if (!outcome && task.dedupe) {
      // In item order, so of two debounced items of one window the later one's content runs.
      const settled = await settleDuplicate(task as NewTask & { dedupe: DedupePlacement }, executeSql, insertOne);
      results[index] = { index, status: settled.kind, id: task.id, statusUrl: taskUrl(base, queue, task.id) };
      continue;
    }
    const statusUrl = taskUrl(base, queue, task.id);
    if (outcome) results[index] = { index, status: 'accepted', id: task.id, statusUrl };
    else {
      const row = existing.get(task.id);
      const conflict = row && reusedKey(row, task);
      results[index] = { index, status: conflict ? 'conflict' : 'duplicate', id: task.id, statusUrl };
    }
  }
}

/**
 * Store one shard's items: any item with dependsOn → all of them in one transaction (items may name
 * earlier ones), else one insert.
 */
export function insertPart(input: EnqueueBatchInput, lane: ShardLane, built: Built[], results: BatchItemResult[]): Promise<void> {
  if (built.some((b) => b.task.dependsOn)) return insertDependentItems(input, lane, built, results);
  return insertItems(input, lane, built, results);
}

export async function enqueueBatch(input: EnqueueBatchInput, deps: EnqueueDeps): Promise<EnqueueBatchResult> {
  const { queue } = input;
  const def = requireTaskType(queue);
  const { results, built } = parseItems(input, def, deps.config.api.batchMaxTasks);
  let missing: number[] = [];
  if (deps.lanes.sharded) missing = await storeAcrossShards(input, deps, built, results, insertPart);
  else await insertPart(input, deps.lanes.home, built, results);
  const count = (s: BatchItemResult['status']) => results.filter((r) => r.status === s).length;
  const summary: Omit<BatchResult, 'results'> = {
    accepted: count('accepted'),
    duplicate: count('duplicate'),
    conflict: count('conflict'),
    invalid: count('invalid'),
    replaced: count('replaced'),
  };
  if (missing.length > 0) summary.unavailable = count('unavailable');
  deps.metrics.countEnqueued(queue, 'accepted', summary.accepted);
  if (summary.duplicate) deps.metrics.countEnqueued(queue, 'duplicate', summary.duplicate);
  if (summary.replaced) deps.metrics.countEnqueued(queue, 'replaced', summary.replaced);
  return { status: summary.accepted > 0 ? 202 : 200, body: { ...summary, results }, missing };
}
