/**
 * The claim's plan must not depend on fresh statistics: a queue filled after the table was last
 * analyzed (every burst, on a server whose autovacuum looks once a minute) must still be claimed by
 * reading the ready index in order — about n entries for n jobs — not by scanning and sorting every
 * ready row. The plan is read from auto_explain (nested statements: the one inside the function).
 */
import { claimJobs, completeAndClaim, PRIORITIES } from '@taskfleet/core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainingClient } from '../../../../test-support/auto-explain.ts';
import { useTestDatabase } from '../../../../test-support/database.ts';

const db = useTestDatabase();
const READY = 100_000;
let client: pg.Client;
let notices: string[] = [];

async function plannedWith<T>(fn: () => Promise<T>): Promise<{ result: T; plans: string[] }> {
  notices.length = 0;
  const result = await fn();
  return { result, plans: notices.filter((n) => n.includes('plan:')) };
}

beforeAll(async () => {
  // A burst into a table the planner has no statistics for yet: what it sees right after a fill on a
  // server whose autovacuum has not looked yet. Autovacuum is off for this database's job table so
  // that it cannot analyze behind the test's back.
  await db.query('ALTER TABLE pgboss.job_common SET (autovacuum_enabled = false)');
  await db.query(
    `INSERT INTO pgboss.job (name, data, priority)
     SELECT 'noop', '{}', (ARRAY[$1::int, $2::int, $3::int])[1 + i % 3] FROM generate_series(1, $4::int) i`,
    [PRIORITIES.low, PRIORITIES.normal, PRIORITIES.high, READY],
  );
  ({ client, notices } = await explainingClient(db.url));
});

afterAll(async () => {
  await client?.end();
});

describe('claim plan on a table filled after its last ANALYZE', () => {
  it('control: the same query planned with default settings scans every ready row and sorts', async () => {
    // Proves the statistics really are stale here, so the next test is not passing by luck.
    const { rows } = await client.query(
      `EXPLAIN (ANALYZE, FORMAT TEXT) SELECT j.id FROM pgboss.job_common j
       WHERE j.name = 'noop' AND j.state < 'active' AND NOT j.blocked AND j.start_after <= pgboss.job_now()
       ORDER BY j.priority DESC, j.created_on LIMIT 50 FOR UPDATE OF j SKIP LOCKED`,
    );
    const plan = rows.map((r: Record<string, string>) => Object.values(r)[0]).join('\n');
    expect(plan, plan).toMatch(/Sort/);
  });

  it('reads the ready index in order and claims the highest priority, oldest first', async () => {
    const { result: jobs, plans } = await plannedWith(
      async () => (await claimJobs((q, v) => client.query(q as never, v), 'noop', 50)).claimed,
    );
    expect(jobs).toHaveLength(50);
    expect(jobs.every((j) => j.priority === PRIORITIES.high)).toBe(true);
    const created = jobs.map((j) => j.createdOn.getTime());
    expect(Math.max(...created)).toBeLessThanOrEqual(Math.min(...created)); // one INSERT: one created_on
    const inner = plans.find((p) => p.includes('FOR UPDATE OF j SKIP LOCKED'));
    expect(inner, `auto_explain reported: ${plans.join('\n---\n')}`).toBeDefined();
    expect(inner).toMatch(/Index Scan using job_common_i11/);
    expect(inner).not.toMatch(/Sort|Bitmap|Seq Scan/);
    // The index scan stopped after the rows it returned, not after every ready row.
    const scanned = /Index Scan using job_common_i11[^\n]*actual time=[\d.]+\.\.[\d.]+ rows=(\d+)/.exec(inner ?? '');
    expect(Number(scanned?.[1])).toBeLessThanOrEqual(50);
  });

  it('claims only jobs at or above the minimum priority for reserved slots, and marks them active', async () => {
    const high = await db.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE priority = $1 AND state = 'created'`, [PRIORITIES.high]);
    const { result: jobs, plans } = await plannedWith(
      async () => (await claimJobs((q, v) => client.query(q as never, v), 'noop', READY, PRIORITIES.high)).claimed,
    );
    expect(jobs.length).toBe(high.rows[0].n);
    expect(jobs.every((j) => j.priority === PRIORITIES.high && j.retryCount === 0)).toBe(true);
    expect(plans.find((p) => p.includes('FOR UPDATE OF j SKIP LOCKED'))).not.toMatch(/Sort|Bitmap|Seq Scan/);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE state = 'active' AND started_on IS NOT NULL`);
    expect(rows[0].n).toBe(jobs.length + 50);
  });

  it('completes a batch by id and claims its successors in the same statement', async () => {
    const run = (q: unknown, v?: unknown[]) => client.query(q as never, v);
    const batch = (await claimJobs(run, 'noop', 20)).claimed;
    const stale = { id: batch[0]?.id as string, retryCount: 7, output: null }; // an attempt that is not the current one
    const { result, plans } = await plannedWith(() =>
      completeAndClaim(
        run,
        'noop',
        [...batch.slice(1).map((j) => ({ id: j.id, retryCount: j.retryCount, output: { ok: true } })), stale],
        20,
      ),
    );
    expect(result.settled.sort()).toEqual(
      batch
        .slice(1)
        .map((j) => j.id)
        .sort(),
    );
    expect(result.claimed).toHaveLength(20);
    const completion = plans.find((p) => p.includes("SET state = 'completed'"));
    expect(completion, plans.join('\n---\n')).toMatch(
      /Index Scan using job_common_(id|pkey) on job_common j[^\n]*\n\s+Index Cond: \(+id = /,
    );
    expect(completion).not.toMatch(/Seq Scan|Bitmap|Sort/);
    const { rows } = await db.query(`SELECT state, output FROM pgboss.job WHERE id = ANY($1::uuid[]) ORDER BY state`, [
      batch.map((j) => j.id),
    ]);
    expect(rows.filter((r) => r.state === 'completed' && r.output?.ok === true)).toHaveLength(19);
    expect(rows.filter((r) => r.state === 'active')).toHaveLength(1); // the stale attempt was fenced off
  });
});
