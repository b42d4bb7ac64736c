/**
 * Task dependencies (migration 000014): pg-boss's flow columns (`blocked`, `pending_dependencies`,
 * `blocking`) and its `job_dependency` edges, resolved by taskfleet's triggers where tasks end.
 * Tasks with dependencies take this path, in one transaction: lock the parents, insert the children
 * (the ingest insert, unchanged), link them. Tasks without dependencies never come here.
 */
import type { PgBoss } from 'pg-boss';
import type { ExecutePrepared, ExecuteSql } from './executor.ts';
import { PGBOSS_SCHEMA } from './names.ts';

const S = PGBOSS_SCHEMA;

/** A dependency as its child sees it: where it is, how it ended (so far), and its output. */
export interface DependencyRef {
  queue: string;
  id: string;
}

/** A parent locked by the inserting transaction. */
export interface LockedParent extends DependencyRef {
  /** pg-boss's state. */
  state: string;
  /** The submitting API key (visibility checks). */
  submitter: string | null;
}

/**
 * Lock the given tasks (any queue, by id) until the transaction ends: none of them can end between
 * this read and the link (FOR NO KEY UPDATE conflicts with the worker's completion). Missing ids
 * are simply absent from the answer.
 */
export async function lockParents(executeSql: ExecuteSql, ids: string[]): Promise<Map<string, LockedParent>> {
  const { rows } = await executeSql(
    `SELECT id, name AS queue, state::text AS state, data->'meta'->>'submitter' AS submitter
     FROM ${S}.job WHERE id = ANY ($1::uuid[]) ORDER BY name, id FOR NO KEY UPDATE`,
    [ids],
  );
  return new Map((rows as LockedParent[]).map((r) => [r.id, r]));
}

export interface DependencyLink {
  child_name: string;
  child_id: string;
  parent_name: string;
  parent_id: string;
}

export type LinkOutcome = 'waiting' | 'cancelled' | 'ready';

/**
 * Link inserted children to their (locked) parents: edges, parents marked `blocking`, children
 * `blocked` until their parents complete, or cancelled at once when a parent already failed or was
 * cancelled. Returns each child's outcome by id.
 */
export async function linkDependencies(executeSql: ExecuteSql, links: DependencyLink[]): Promise<Map<string, LinkOutcome>> {
  const { rows } = await executeSql('SELECT child_id AS id, outcome FROM taskfleet.link_dependencies($1::json)', [JSON.stringify(links)]);
  return new Map((rows as { id: string; outcome: LinkOutcome }[]).map((r) => [r.id, r.outcome]));
}

/** What `ctx.dependencies()` gives a handler: each task it depends on, its state and output. */
export interface DependencyOutput extends DependencyRef {
  /** pg-boss's state: `completed` for every dependency of a task that runs. */
  state: string;
  output: unknown;
}

/** The tasks `id` depends on, with their outputs (a dependency deleted by retention is left out). */
export async function dependencyOutputs(executeSql: ExecuteSql, queue: string, id: string): Promise<DependencyOutput[]> {
  const { rows } = await executeSql(
    `SELECT p.id, p.name AS queue, p.state::text AS state, p.output
     FROM ${S}.job_dependency d JOIN ${S}.job p ON p.name = d.parent_name AND p.id = d.parent_id
     WHERE d.child_name = $1 AND d.child_id = $2 ORDER BY p.created_on, p.id`,
    [queue, id],
  );
  return rows as DependencyOutput[];
}

/**
 * Run `work` in one transaction on one connection of pg-boss's pool (committed when it returns,
 * rolled back when it throws).
 */
export async function inTransaction<T>(boss: PgBoss, work: (executeSql: ExecutePrepared) => Promise<T>): Promise<T> {
  const db = boss.getDb();
  if (!db.beginTransaction) throw new Error("pg-boss's database adapter cannot open a transaction");
  const tx = await db.beginTransaction();
  try {
    // pg-boss types the first argument as a string but hands it to pg untouched (prepared statements too).
    const result = await work((query, values) => tx.db.executeSql(query as string, values));
    await tx.commit();
    return result;
  } catch (err) {
    await tx.rollback().catch(() => undefined);
    throw err;
  }
}
