/**
 * Helpers for tests of a sharded fleet: submit a tenant's task and read it back the way a service
 * would, find where each task is across the shards' primaries, and read counters from /metrics.
 */
import pg from 'pg';
import { LEDGER_QUEUE } from './chaos.ts';

export interface Submitted {
  status: number;
  id?: string;
  retryAfter: string | null;
  ms: number;
}

/** POST one `test.ledger` task for a tenant (its group), with an idempotency key. */
export async function submitForTenant(apiUrl: string, tenant: string, key: string): Promise<Submitted> {
  const started = Date.now();
  try {
    const res = await fetch(`${apiUrl}/v1/queues/${LEDGER_QUEUE}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ payload: { key }, group: tenant }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json().catch(() => null)) as { id?: string } | null;
    return { status: res.status, id: body?.id, retryAfter: res.headers.get('retry-after'), ms: Date.now() - started };
  } catch {
    return { status: 0, retryAfter: null, ms: Date.now() - started };
  }
}

/** GET a task's status; the HTTP status (0 = no answer). */
export async function readTask(apiUrl: string, id: string): Promise<number> {
  try {
    const res = await fetch(`${apiUrl}/v1/tasks/${id}`, { signal: AbortSignal.timeout(15_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

/** One small pool per shard primary (or replica), errors swallowed: tests stop servers on purpose. */
export function poolsFor(urls: Map<number, string>): Map<number, pg.Pool> {
  const pools = new Map<number, pg.Pool>();
  for (const [id, url] of urls) {
    const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => {});
    pools.set(id, pool);
  }
  return pools;
}

export interface ShardAudit {
  /** Shard id → acknowledged tasks found there. */
  found: Map<number, number>;
  completed: number;
  /** Acknowledged tasks neither completed nor dead-lettered. */
  unfinished: string[];
  /** Acknowledged ids on no shard. */
  lost: string[];
}

/** Where each acknowledged task is and whether it finished, over every reachable shard. */
export async function auditShards(pools: Map<number, pg.Pool>, ids: string[]): Promise<ShardAudit> {
  const audit: ShardAudit = { found: new Map(), completed: 0, unfinished: [], lost: [] };
  const seen = new Set<string>();
  for (const [shard, pool] of pools) {
    const { rows } = await pool.query<{ id: string; state: string; dead: boolean }>(
      `SELECT j.id, j.state::text AS state,
              EXISTS (SELECT 1 FROM pgboss.job d WHERE d.name = $2 AND d.source_id = j.id) AS dead
         FROM pgboss.job j WHERE j.name = $3 AND j.id = ANY($1::uuid[])`,
      [ids, `${LEDGER_QUEUE}.dead`, LEDGER_QUEUE],
    );
    audit.found.set(shard, rows.length);
    for (const r of rows) {
      seen.add(r.id);
      if (r.state === 'completed' || (r.state === 'failed' && r.dead)) audit.completed++;
      else audit.unfinished.push(r.id);
    }
  }
  audit.lost = ids.filter((id) => !seen.has(id));
  return audit;
}

/** Poll until every acknowledged task is finished (or the time is up); the last audit. */
export async function allFinished(pools: Map<number, pg.Pool>, ids: string[], timeoutMs: number): Promise<ShardAudit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const audit = await auditShards(pools, ids);
    if ((audit.unfinished.length === 0 && audit.lost.length === 0) || Date.now() > deadline) return audit;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Sum of a counter's samples whose labels include every given label. */
export async function counter(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Run `fn` over `items` with at most `concurrency` at once. */
export async function eachLimited<T>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}
