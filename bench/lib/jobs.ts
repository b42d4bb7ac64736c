/** Filling queues and reading job timings straight from the database (one clock: PostgreSQL's). */
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { PRIORITIES, type PriorityName } from '@taskfleet/core';

export async function prefill(
  url: string,
  queue: string,
  count: number,
  payload: object = {},
  priority: PriorityName = 'normal',
): Promise<void> {
  const boss = new PgBoss({ connectionString: url, max: 4, supervise: false, schedule: false, migrate: false });
  boss.on('error', () => {});
  await boss.start();
  const batch = 5000;
  const work: Promise<unknown>[] = [];
  for (let done = 0; done < count; done += batch) {
    const rows = Array.from({ length: Math.min(batch, count - done) }, () => ({
      data: { payload, meta: { submitter: null } },
      priority: PRIORITIES[priority],
    }));
    work.push(boss.insert(queue, rows));
    if (work.length >= 4) await Promise.all(work.splice(0));
  }
  await Promise.all(work);
  await boss.stop({ graceful: false });
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function countState(c: pg.Client, queue: string, state: string): Promise<number> {
  return (
    (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = $2`, [queue, state])).rows[0]?.n ??
    0
  );
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function summarize(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), p99: r(percentile(s, 99)), max: r(s.at(-1) ?? Number.NaN) };
}
