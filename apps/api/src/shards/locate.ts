/**
 * Finding a task's shard from its id. The API stamps every id it creates with its shard
 * (topology/task-id.ts), so a read goes to that one shard. Ids it did not create name no shard
 * reliably: tasks from before the map had several shards, and the copies pg-boss makes itself —
 * dead-letter copies and redriven tasks get `gen_random_uuid()` ids. So, with several shards, a task
 * not found on the shard its id names is looked for on the others (a miss costs a fan-out; a hit on
 * the named shard, every task the API created, costs nothing more). When it is on none that answered
 * and a shard did not answer, the answer is a 503 naming that shard, not a 404.
 *
 * Schedules are found the same way from their name's shard (routes/schedules.ts): one written before
 * the shard map changed stays on the shard it was written to.
 */
import { isShardUnreachable, problems } from '../problem.ts';
import type { Lanes, ShardLane } from './lanes.ts';

export interface Located<T> {
  lane: ShardLane;
  /** undefined: on no shard. */
  value: T | undefined;
}

export function locateTask<T>(lanes: Lanes, id: string, read: (lane: ShardLane) => Promise<T | undefined>): Promise<Located<T>> {
  return locate(lanes, lanes.forTaskId(id), read);
}

/** `read` on the `named` lane; with several shards, on a miss, on the others (see above). */
export async function locate<T>(lanes: Lanes, named: ShardLane, read: (lane: ShardLane) => Promise<T | undefined>): Promise<Located<T>> {
  let value: T | undefined;
  try {
    value = await read(named);
  } catch (err) {
    throw lanes.failure(named.shard, err);
  }
  if (value !== undefined || !lanes.sharded) return { lane: named, value };
  const others = lanes.all.filter((l) => l !== named);
  const settled = await Promise.allSettled(others.map(read));
  let down: { lane: ShardLane; err: unknown } | undefined;
  for (const [i, s] of settled.entries()) {
    const lane = others[i] as ShardLane;
    if (s.status === 'fulfilled') {
      if (s.value !== undefined) return { lane, value: s.value };
    } else if (isShardUnreachable(s.reason)) down ??= { lane, err: s.reason };
    else throw s.reason;
  }
  if (down) throw problems.shardUnavailable(down.lane.shard.id, down.err);
  return { lane: named, value: undefined };
}
