/**
 * The answers for tasks with `dependsOn` (dependencies.ts stores them): a single enqueue answers
 * 202 with its state (`waiting`, `queued`/`scheduled` when every dependency had completed,
 * `cancelled` when one had failed or was cancelled), 200/409 for an idempotent repeat as usual; a
 * batch that has any item with `dependsOn` is stored in one transaction, with a result per item.
 */
import type { BatchItemResult, EnqueueReceipt } from '@taskfleet/core';
import { problems } from '../problem.ts';
import { taskUrl } from '../task-view.ts';
import { type NewTask, reusedKey } from './build.ts';
import { type DependentItem, storeWithDependencies } from './dependencies.ts';
import type { ShardLane } from '../shards/lanes.ts';
import { duplicateResult, type EnqueueDeps, type EnqueueRequestInfo, type EnqueueTaskResult } from './enqueue-task.ts';

/** One transaction on the lane's shard (a task and its dependencies are always on one shard). */
async function store(info: EnqueueRequestInfo, lane: ShardLane, items: DependentItem[]) {
  const { outcomes, wake } = await lane.transaction((executeSql) => storeWithDependencies(executeSql, info.queue, items, info.principal));
  for (const queue of wake) lane.wake(queue);
  return outcomes;
}

function receiptState(task: NewTask, outcome: 'waiting' | 'cancelled' | 'ready'): EnqueueReceipt['state'] {
  if (outcome !== 'ready') return outcome;
  return task.scheduled ? 'scheduled' : 'queued';
}

export async function enqueueDependentTask(
  info: EnqueueRequestInfo,
  task: NewTask,
  deps: EnqueueDeps,
  lane: ShardLane,
): Promise<EnqueueTaskResult> {
  const { queue, baseUrl: base } = info;
  const item: DependentItem = { index: undefined, task };
  const outcome = (await store(info, lane, [item])).get(item);
  if (!outcome) throw new Error('no outcome for the stored task');
  if (outcome.kind === 'invalid') throw problems.validation(outcome.errors);
  if (outcome.kind === 'inserted') {
    deps.metrics.countEnqueued(queue, 'accepted');
    const statusUrl = taskUrl(base, queue, task.id);
    return { status: 202, location: statusUrl, body: { id: task.id, queue, state: receiptState(task, outcome.outcome), statusUrl } };
  }
  if (!outcome.row) throw problems.unavailable('The task could not be stored; retry.');
  return duplicateResult(task, outcome.row, base, deps.metrics);
}

/** Store a batch's valid items (`built`, by index) in one transaction and record each one's result. */
export async function insertDependentItems(
  info: EnqueueRequestInfo,
  lane: ShardLane,
  built: { index: number; task: NewTask }[],
  results: BatchItemResult[],
): Promise<void> {
  const items: DependentItem[] = built.map((b) => ({ index: b.index, task: b.task }));
  const outcomes = await store(info, lane, items);
  for (const item of items) {
    const index = item.index as number;
    const outcome = outcomes.get(item);
    const id = item.task.id;
    const statusUrl = taskUrl(info.baseUrl, info.queue, id);
    if (!outcome || outcome.kind === 'invalid') results[index] = { index, status: 'invalid', errors: outcome?.errors ?? [] };
    else if (outcome.kind === 'inserted') results[index] = { index, status: 'accepted', id, statusUrl };
    else {
      const conflict = outcome.row && reusedKey(outcome.row, item.task);
      results[index] = { index, status: conflict ? 'conflict' : 'duplicate', id, statusUrl };
    }
  }
}
