/**
 * Enqueue with `dependsOn`: a task that runs once every task it names has completed, and is
 * cancelled (with the reason as its lastError) if one of them fails, is dead-lettered or cancelled.
 *
 * `dependsOn` holds task ids (UUIDs, of any queue the API key can see) and, in a batch, `"$<index>"`
 * for an earlier item of the same batch (`"$0"` is the batch's first task). An unknown id is a 422
 * naming the field (`dependsOn[2]`, `tasks[3].dependsOn[0]`). A dependency that already completed
 * counts as done; one that already failed or was cancelled cancels the new task at once (it is
 * stored, and answered 202 with state `cancelled`: the outcome is the same whether the dependency
 * ended a moment before the request or a moment after).
 *
 * These tasks take a slower path than the group commit, one transaction per request: lock the
 * dependencies (none can end meanwhile), insert the tasks (the ingest insert), link them
 * (taskfleet.link_dependencies, migration 000014). Tasks without `dependsOn` never come here.
 */
import {
  type ExecutePrepared,
  getTasks,
  insertTasks,
  type LinkOutcome,
  linkDependencies,
  lockParents,
  type LockedParent,
  type TaskRow,
} from '@taskfleet/core';
import { z } from 'zod';
import { canSee } from '../middleware/auth.ts';
import type { FieldError } from '../problem.ts';
import type { NewTask, Principal } from './build.ts';

/** Dependencies one task may name. */
export const DEPENDS_ON_MAX = 100;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BATCH_REF = /^\$(\d{1,6})$/;

export const dependsOnSchema = z
  .array(
    z.string().refine((s) => UUID_RE.test(s) || BATCH_REF.test(s), 'must be a task id (UUID), or in a batch "$<index>" of an earlier item'),
  )
  .min(1)
  .max(DEPENDS_ON_MAX)
  .describe(
    'Tasks (ids, any queue) this one waits for: it runs once all have completed, and is cancelled if one fails, is dead-lettered or cancelled. In a batch, "$<index>" names an earlier item of the same batch.',
  );

/** Runs `work` in one transaction (store/dependencies.ts inTransaction over pg-boss's pool). */
export type Transaction = <T>(work: (executeSql: ExecutePrepared) => Promise<T>) => Promise<T>;

export interface DependentItem {
  /** Index in the batch; undefined for a single enqueue. */
  index: number | undefined;
  task: NewTask;
}

export type ItemOutcome =
  | { kind: 'inserted'; outcome: LinkOutcome }
  | { kind: 'existing'; row: TaskRow | undefined }
  | { kind: 'invalid'; errors: FieldError[] };

interface Resolved {
  field: string;
  id: string;
  /** Index of the batch item it names, for `$n`. */
  item?: number;
}

function fieldOf(item: DependentItem, k: number): string {
  return item.index === undefined ? `dependsOn[${k}]` : `tasks[${item.index}].dependsOn[${k}]`;
}

/** The item's references as ids, or its field errors (batch references checked against earlier items). */
function resolveRefs(item: DependentItem, batchIds: Map<number, string>): { refs: Resolved[]; errors: FieldError[] } {
  const refs: Resolved[] = [];
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const list = item.task.dependsOn ?? [];
  if (list.length > 0 && item.task.dedupe) {
    errors.push({
      field: item.index === undefined ? 'dependsOn' : `tasks[${item.index}].dependsOn`,
      message: 'cannot be combined with dedupe',
    });
  }
  list.forEach((ref, k) => {
    const field = fieldOf(item, k);
    const batchRef = BATCH_REF.exec(ref);
    if (batchRef) {
      const n = Number(batchRef[1]);
      if (item.index === undefined) errors.push({ field, message: '"$<index>" refers to an item of a batch (tasks:batch)' });
      else if (n >= item.index) errors.push({ field, message: 'must refer to an earlier item of the batch' });
      else if (!batchIds.has(n)) errors.push({ field, message: `item ${n} of the batch is not stored (it is invalid)` });
      else refs.push({ field, id: batchIds.get(n) as string, item: n });
      return;
    }
    const id = ref.toLowerCase();
    if (id === item.task.id) errors.push({ field, message: 'a task cannot depend on itself' });
    else if (!seen.has(id)) refs.push({ field, id });
    seen.add(id);
  });
  return { refs, errors };
}

/** External dependencies must exist and be visible to the submitting key. */
function checkExternal(refs: Resolved[], locked: Map<string, LockedParent>, principal: Principal): FieldError[] {
  const errors: FieldError[] = [];
  for (const r of refs) {
    if (r.item !== undefined) continue;
    const parent = locked.get(r.id);
    if (!parent || !canSee(principal, parent.submitter))
      errors.push({ field: r.field, message: 'no task has this id (or it is not visible to this API key)' });
  }
  return errors;
}

/**
 * Store `items` (all of one queue; items without dependsOn may be among them) in one transaction:
 * dependencies locked and checked, valid items inserted, inserted ones linked. Queues to wake are
 * returned, for after the commit (a wake-up sent before it would find nothing).
 */
export async function storeWithDependencies(
  executeSql: ExecutePrepared,
  queue: string,
  items: DependentItem[],
  principal: Principal,
): Promise<{ outcomes: Map<DependentItem, ItemOutcome>; wake: Set<string> }> {
  const outcomes = new Map<DependentItem, ItemOutcome>();
  const wake = new Set<string>();
  const batchIds = new Map<number, string>();
  for (const item of items) if (item.index !== undefined) batchIds.set(item.index, item.task.id);
  const ownIds = new Set(items.map((i) => i.task.id));
  const external = new Set<string>();
  for (const item of items)
    for (const ref of item.task.dependsOn ?? []) if (UUID_RE.test(ref) && !ownIds.has(ref.toLowerCase())) external.add(ref.toLowerCase());
  const locked = external.size > 0 ? await lockParents(executeSql, [...external]) : new Map<string, LockedParent>();

  // In item order: an item naming an invalid earlier item is invalid too.
  const valid: { item: DependentItem; refs: Resolved[] }[] = [];
  for (const item of items) {
    const { refs, errors } = resolveRefs(item, batchIds);
    errors.push(...checkExternal(refs, locked, principal));
    if (errors.length > 0) {
      outcomes.set(item, { kind: 'invalid', errors });
      if (item.index !== undefined) batchIds.delete(item.index);
    } else valid.push({ item, refs });
  }
  if (valid.length === 0) return { outcomes, wake };

  const inserted = new Set(
    await insertTasks(
      executeSql,
      queue,
      valid.map((v) => v.item.task.row),
      (q) => wake.add(q),
    ),
  );
  const links = valid
    .filter((v) => inserted.has(v.item.task.id))
    .flatMap((v) =>
      v.refs.map((r) => ({
        child_name: queue,
        child_id: v.item.task.id,
        parent_name: r.item !== undefined ? queue : (locked.get(r.id) as LockedParent).queue,
        parent_id: r.id,
      })),
    );
  const linked = links.length > 0 ? await linkDependencies(executeSql, links) : new Map<string, LinkOutcome>();
  const existingIds = valid.filter((v) => !inserted.has(v.item.task.id)).map((v) => v.item.task.id);
  const existing = existingIds.length > 0 ? await getTasks(executeSql, queue, existingIds) : new Map<string, TaskRow>();
  for (const { item } of valid) {
    const id = item.task.id;
    outcomes.set(
      item,
      inserted.has(id) ? { kind: 'inserted', outcome: linked.get(id) ?? 'ready' } : { kind: 'existing', row: existing.get(id) },
    );
  }
  return { outcomes, wake };
}
