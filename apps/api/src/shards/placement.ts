/**
 * Which shard a new task goes to (only asked when the map has more than one shard):
 *
 * - a task with `dependsOn` goes where its dependencies are (their ids name their shard; a batch's
 *   `"$<index>"` names an earlier item, already placed): dependencies are enforced by one database's
 *   rows and locks, so dependencies on different shards are a 422 naming `dependsOn`;
 * - else its shard key, through rendezvous hashing: its group (as sent, else its API key's name —
 *   the tenant), else its idempotency key, else its dedupe key;
 * - else round-robin.
 *
 * The task's id is then stamped with the shard (topology/task-id.ts) — also the UUIDv5 ids derived
 * from idempotency keys and dedupe windows, so a key always maps to the same id on the same shard
 * for a given shard map (and group).
 */
import { type Shard, type ShardSet, stampShard } from '@taskfleet/core';
import type { NewTask } from '../enqueue/build.ts';
import type { FieldError } from '../problem.ts';

const BATCH_REF = /^\$(\d{1,6})$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The string hashed to pick a task's shard, if it has one. */
export function shardKeyOf(task: NewTask): string | undefined {
  return task.row.group?.id ?? task.idempotencyKey ?? task.dedupe?.spec.key;
}

/** Give the task its shard: the shard id and its id (and row id) stamped with it. */
export function placeOnShard(task: NewTask, shard: Shard): void {
  const id = stampShard(task.id, shard.id);
  task.shard = shard.id;
  task.id = id;
  task.row.id = id;
}

/**
 * The shard of a task's dependencies, if it names any it can be placed by: `undefined` when it has
 * none that name a shard; a field error when they are on different shards.
 * `itemShard(n)` is the shard of batch item `n` (undefined when that item is not stored).
 */
export function dependencyShard(
  task: NewTask,
  shards: ShardSet,
  field: string,
  itemShard: (n: number) => Shard | undefined = () => undefined,
): Shard | FieldError | undefined {
  let found: Shard | undefined;
  for (const ref of task.dependsOn ?? []) {
    const m = BATCH_REF.exec(ref);
    const shard = m ? itemShard(Number(m[1])) : UUID_RE.test(ref) ? shards.forTaskId(ref.toLowerCase()) : undefined;
    if (!shard) continue;
    if (found && found !== shard) {
      return {
        field,
        message: `names tasks on different shards (${found.id} and ${shard.id}): dependencies are enforced inside one database, so a task and every task it depends on must be on one shard (give them one group)`,
      };
    }
    found = shard;
  }
  return found;
}

/** The shard for a task without dependencies (or whose dependencies name none). */
export function keyedShard(task: NewTask, shards: ShardSet): Shard {
  const key = shardKeyOf(task);
  return key === undefined ? shards.any() : shards.forKey(key);
}
