/**
 * `GET /v1/queues/{queue}/tasks`: a queue's tasks newest first, keyset-paginated on (created_on, id).
 *
 * With several shards every shard is asked for the page after the cursor (limit + 1 rows each) and
 * the answers are merged in the same order; the page is the first `limit` of the merge and the
 * cursor is its last row, a position every shard understands. So paging through visits each task
 * once, whatever shard it is on, as with one database. A shard that does not answer is left out and
 * named in `X-Missing-Shards`.
 */
import { z } from '@hono/zod-openapi';
import { listTasks, PGBOSS_STATES_FOR, TASK_STATES, type TaskRow, type TaskState } from '@taskfleet/core';
import type { Context } from 'hono';
import { zodFieldErrors } from '../enqueue/schema.ts';
import type { AppEnv } from '../env.ts';
import { requireQueue, UUID } from '../known-queues.ts';
import { hasScope, principalOf } from '../middleware/auth.ts';
import { problems } from '../problem.ts';
import { fanOut, markMissing } from '../shards/fan-out.ts';
import type { Lanes } from '../shards/lanes.ts';
import { toTaskView } from '../task-view.ts';
import { baseUrl } from './base-url.ts';
import type { Config } from '@taskfleet/core';

export const listQuery = z.strictObject({
  state: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(TASK_STATES)))
    .optional()
    .describe(`Comma-separated states: ${TASK_STATES.join(', ')} (default: all)`),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional().describe('`nextCursor` of the previous page'),
});

/** The listing's position: the last row of the previous page (creation time to the microsecond, id). */
function decodeCursor(cursor: string | undefined): { createdOn: string; id: string } | undefined {
  if (!cursor) return undefined;
  try {
    const [createdOn, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(createdOn) || !UUID.test(id)) throw new Error('bad cursor');
    return { createdOn, id };
  } catch {
    throw problems.validation([{ field: 'cursor', message: 'is not a cursor returned by this endpoint' }]);
  }
}

/** queued and scheduled share a pg-boss state: ask the store for ready rows only, future ones only, or both. */
function readyFilter(states: TaskState[]): boolean | undefined {
  if (states.includes('waiting')) return undefined;
  if (states.includes('queued') && !states.includes('scheduled')) return true;
  if (!states.includes('queued') && states.includes('scheduled')) return false;
  return undefined;
}

/**
 * Newest first, as the store orders them: created_on descending (the fixed-width microsecond text
 * compares as the time), then id descending (lower-case UUIDs compare as PostgreSQL's uuid order).
 */
function newestFirst(a: TaskRow, b: TaskRow): number {
  const ta = a.createdOnExact as string;
  const tb = b.createdOnExact as string;
  if (ta !== tb) return ta < tb ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Merge the shards' pages (each newest first, each at most `limit + 1` rows): the first `limit + 1`. */
export function mergePages(pages: TaskRow[][], limit: number): TaskRow[] {
  if (pages.length === 1) return pages[0] as TaskRow[];
  return pages
    .flat()
    .sort(newestFirst)
    .slice(0, limit + 1);
}

export async function listTasksAcrossShards(c: Context<AppEnv>, deps: { config: Config; lanes: Lanes }): Promise<Response> {
  const queue = c.req.param('queue') ?? '';
  requireQueue(queue);
  const principal = principalOf(c);
  const parsed = listQuery.safeParse(c.req.query());
  if (!parsed.success) throw problems.validation(zodFieldErrors(parsed.error));
  const states = (parsed.data.state ?? [...TASK_STATES]) as TaskState[];
  const before = decodeCursor(parsed.data.cursor);
  const onlyReady = readyFilter(states);
  const { limit } = parsed.data;
  const filter = {
    queue,
    states: [...new Set(states.flatMap((s) => PGBOSS_STATES_FOR[s]))],
    ...(hasScope(principal, 'read') ? {} : { submitter: principal.id }),
    ...(onlyReady !== undefined ? { ready: onlyReady } : {}),
    ...(before ? { before } : {}),
    limit: limit + 1,
  };
  const { values, missing } = await fanOut(deps.lanes.shards.all, (shard) => listTasks(shard.reads.execute, filter));
  markMissing(c, missing);
  const rows = mergePages(values, limit);
  const base = baseUrl(c, deps.config);
  // dead_lettered vs failed share a pg-boss state: filter on the derived state.
  const page = rows.slice(0, limit);
  const tasks = page.map((r) => toTaskView(r, base)).filter((t) => states.includes(t.state));
  const last = page.at(-1);
  const nextCursor = rows.length > limit && last ? Buffer.from(JSON.stringify([last.createdOnExact, last.id])).toString('base64url') : null;
  return c.json({ tasks, nextCursor });
}
