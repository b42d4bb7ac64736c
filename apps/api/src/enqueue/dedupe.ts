/**
 * Dedup windows on enqueue (`"dedupe": { "key", "seconds", "mode" }`). A window is `seconds` long and
 * aligned to multiples of it since the Unix epoch, by the API replica's clock. The task of a window has
 * a UUIDv5 id derived from (submitter, queue, mode, seconds, key, window start), so any number of
 * replicas agree on it through the job table's primary key — as idempotency keys do — and the group
 * commit needs nothing special: a second request of the window simply inserts nothing.
 *
 * - throttle: the first task of the window stands; later requests answer 200 with it.
 * - debounce: the task waits for the end of its window; each later request of the window replaces its
 *   payload, priority, group and given limits while it waits, so the last one runs, once. A request
 *   that finds its window's task already started (clock skew between replicas, or a request at the
 *   very end of the window) is stored as the next window's task instead.
 */
import { type ExecuteSql, getTask, replaceWaitingTask, stampShard, type TaskRow } from '@taskfleet/core';
import { v5 as uuidv5 } from 'uuid';
import { problems } from '../problem.ts';
import type { NewTask } from './build.ts';
import type { EnqueueRequest } from './schema.ts';

const DEDUPE_NAMESPACE = '5b0e7f9c-2f7d-4a8e-b1c3-6d2a9e4f8a17';

export type DedupeSpec = NonNullable<EnqueueRequest['dedupe']>;

/** Where a deduplicated task stands: its window and who submitted it (the id's scope). */
export interface DedupePlacement {
  spec: DedupeSpec;
  submitter: string | null;
  windowStart: number;
}

/** Start (ms since the epoch) of the window `nowMs` falls in. */
export function windowStart(seconds: number, nowMs: number): number {
  const ms = seconds * 1000;
  return Math.floor(nowMs / ms) * ms;
}

export function dedupeTaskId(submitter: string | null, queue: string, spec: DedupeSpec, start: number): string {
  return uuidv5(`${submitter ?? 'anonymous'}\n${queue}\n${spec.mode}\n${spec.seconds}\n${spec.key}\n${start}`, DEDUPE_NAMESPACE);
}

/** Give `task` the id (and, for debounce, the run time) of its window (stamped with its shard, once placed). */
export function placeInWindow(task: NewTask, placement: DedupePlacement): void {
  const { spec, submitter, windowStart: start } = placement;
  const end = new Date(start + spec.seconds * 1000).toISOString();
  const derived = dedupeTaskId(submitter, task.queue, spec, start);
  const id = task.shard === undefined ? derived : stampShard(derived, task.shard);
  task.id = id;
  task.row.id = id;
  task.dedupe = placement;
  (task.row.data as NonNullable<typeof task.row.data>).meta.dedupe = { key: spec.key, mode: spec.mode, windowEnd: end };
  if (spec.mode === 'debounce') {
    task.row.startAfter = end;
    task.scheduled = true;
  }
}

export type DedupeOutcome =
  /** throttle: the window's first task. */
  | { kind: 'duplicate'; row: TaskRow }
  /** debounce: the window's waiting task, now carrying this request's content. */
  | { kind: 'replaced'; row: TaskRow }
  /** Stored as a new task (the window's task was gone, or had started: then in the next window). */
  | { kind: 'accepted' };

/**
 * Settle a deduplicated task whose insert found its window's task already there. `insert` stores a
 * row the way the caller does (group commit, or the batch's statement) and says whether it was new.
 */
export async function settleDuplicate(
  task: NewTask & { dedupe: DedupePlacement },
  executeSql: ExecuteSql,
  insert: (row: NewTask['row']) => Promise<boolean>,
): Promise<DedupeOutcome> {
  const { queue } = task;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (task.dedupe.spec.mode === 'throttle') {
      const row = await getTask(executeSql, queue, task.id);
      if (row) return { kind: 'duplicate', row };
    } else if (await replaceWaitingTask(executeSql, queue, task.id, contentOf(task))) {
      const row = await getTask(executeSql, queue, task.id);
      if (row) return { kind: 'replaced', row };
    }
    // Gone (retention) since the insert: store it again in the same window.
    if (await insert(task.row)) return { kind: 'accepted' };
    if (task.dedupe.spec.mode === 'debounce') {
      // There, and started: this request belongs to the next window.
      placeInWindow(task, { ...task.dedupe, windowStart: task.dedupe.windowStart + task.dedupe.spec.seconds * 1000 });
      if (await insert(task.row)) return { kind: 'accepted' };
    }
  }
  throw problems.unavailable('The deduplicated task could not be settled; retry.');
}

function contentOf(task: NewTask) {
  const { row } = task;
  return {
    data: row.data,
    priority: row.priority ?? 0,
    retryLimit: row.retryLimit,
    expireSeconds: row.expireInSeconds,
    groupId: row.group?.id ?? null,
  };
}
