/**
 * A batch over several shards: each item placed on its shard (shards/placement.ts), each shard's
 * items stored by that shard (one insert, or one transaction when they have dependencies), all
 * shards at once, and the answer in the request's order.
 *
 * A shard whose database does not answer: its items are answered `unavailable` with the shard's id —
 * not acknowledged, to be sent again (an idempotency key makes that safe even if the connection broke
 * during the commit) — while the other shards' items are answered as usual. No item is reported
 * accepted unless its shard committed it, and none is dropped silently. When no item could be stored
 * at all the whole request is a 503 naming the shard, as a one-shard batch is.
 */
import type { BatchItemResult, Shard } from '@taskfleet/core';
import { queueDepthProblem } from '../middleware/admission.ts';
import { isShardUnreachable, problems } from '../problem.ts';
import type { ShardLane } from '../shards/lanes.ts';
import { dependencyShard, keyedShard, placeOnShard } from '../shards/placement.ts';
import type { Built, EnqueueBatchInput } from './enqueue-batch.ts';
import type { EnqueueDeps } from './enqueue-task.ts';

export type InsertPart = (input: EnqueueBatchInput, lane: ShardLane, built: Built[], results: BatchItemResult[]) => Promise<void>;

/** Each valid item on its shard, in item order (an item naming an earlier one goes where that one went). */
function placeItems(deps: EnqueueDeps, built: Built[], results: BatchItemResult[]): Map<ShardLane, Built[]> {
  const { lanes } = deps;
  const shardOfItem = new Map<number, Shard>();
  const parts = new Map<ShardLane, Built[]>();
  for (const b of built) {
    const { task, index } = b;
    const byDependencies = task.dependsOn
      ? dependencyShard(task, lanes.shards, `tasks[${index}].dependsOn`, (n) => shardOfItem.get(n))
      : undefined;
    if (byDependencies && 'field' in byDependencies) {
      results[index] = { index, status: 'invalid', errors: [byDependencies] };
      continue;
    }
    const shard = byDependencies ?? keyedShard(task, lanes.shards);
    placeOnShard(task, shard);
    shardOfItem.set(index, shard);
    const lane = lanes.of(shard);
    const part = parts.get(lane);
    if (part) part.push(b);
    else parts.set(lane, [b]);
  }
  return parts;
}

/** Store `built` across the shards, filling `results`; returns the shards whose items are `unavailable`. */
export async function storeAcrossShards(
  input: EnqueueBatchInput,
  deps: EnqueueDeps,
  built: Built[],
  results: BatchItemResult[],
  insertPart: InsertPart,
): Promise<number[]> {
  const parts = placeItems(deps, built, results);
  if (parts.size === 0)
    throw problems.validation(
      results.flatMap((r) => r.errors ?? []),
      'No task in the batch is valid.',
    );
  // Shedding before anything is stored: a batch is refused whole, never in part.
  for (const lane of parts.keys()) {
    if (lane.shedder.shouldShed(input.queue)) {
      deps.metrics.shed.inc({ reason: 'queue_depth' });
      throw queueDepthProblem(deps.config, input.queue, lane.shard.id);
    }
  }
  const lanes = [...parts.keys()];
  const settled = await Promise.allSettled(lanes.map((lane) => insertPart(input, lane, parts.get(lane) as Built[], results)));
  const missing: number[] = [];
  let firstDown: unknown;
  for (const [i, outcome] of settled.entries()) {
    if (outcome.status === 'fulfilled') continue;
    if (!isShardUnreachable(outcome.reason)) throw outcome.reason;
    const shard = (lanes[i] as ShardLane).shard.id;
    missing.push(shard);
    firstDown ??= outcome.reason;
    // An item whose result is set was committed before the failure (a later read failed): keep it.
    for (const { index } of parts.get(lanes[i] as ShardLane) as Built[]) results[index] ??= { index, status: 'unavailable', shard };
  }
  const stored = results.some((r) => r.status !== 'invalid' && r.status !== 'unavailable');
  if (missing.length > 0 && !stored) throw problems.shardUnavailable(missing[0] as number, firstDown);
  return missing.sort((a, b) => a - b);
}
