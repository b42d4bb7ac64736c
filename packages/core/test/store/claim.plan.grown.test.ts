/**
 * The other stale-statistics case: the job table was analyzed while it was small (a quiet start),
 * then filled up under sustained load. Both updates of `complete_and_claim` must still reach their
 * rows by the batch's ids, not scan the queue's rows and compare each with the ids (seen on stock
 * PostgreSQL 15: 670 ms for 66 jobs, 1.9 million join-filter comparisons).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainingClient } from '../../../../test-support/auto-explain.ts';
import { useTestDatabase } from '../../../../test-support/database.ts';
import { claimJobs, completeAndClaim } from '@taskfleet/core';

const db = useTestDatabase();
let client: pg.Client;
let notices: string[] = [];

beforeAll(async () => {
  await db.query('ALTER TABLE pgboss.job_common SET (autovacuum_enabled = false)');
  await db.query(`INSERT INTO pgboss.job (name, data) SELECT 'noop', '{}' FROM generate_series(1, 20)`);
  await db.query('ANALYZE pgboss.job_common'); // statistics of a small table …
  await db.query(`INSERT INTO pgboss.job (name, data) SELECT 'noop', '{}' FROM generate_series(1, 30000)`); // … that grew
  ({ client, notices } = await explainingClient(db.url));
});

afterAll(async () => {
  await client?.end();
});

describe('claim and completion on a table analyzed while small', () => {
  it('update their rows by the batch ids', async () => {
    const run = (q: unknown, v?: unknown[]) => client.query(q as never, v);
    // PL/pgSQL switches to a cached generic plan after five calls: look at plans from after that too.
    let batch = (await claimJobs(run, 'noop', 50)).claimed;
    for (let i = 0; i < 7; i++) {
      notices.length = 0;
      const { settled, claimed } = await completeAndClaim(
        run,
        'noop',
        batch.map((j) => ({ id: j.id, retryCount: j.retryCount, output: null })),
        50,
      );
      expect(settled).toHaveLength(batch.length);
      expect(claimed).toHaveLength(50);
      // Both updates of the call (completion, claim), custom and generic plans alike, reach their
      // rows by id — the only indexable qual they have — never by a scan of the queue's rows.
      const updates = notices.filter((n) => n.includes('plan:') && /Update on job_common j/.test(n));
      expect(updates).toHaveLength(2);
      for (const plan of updates) {
        // PostgreSQL 18 may instead skip-scan the primary key (name, id) on the ids: as good.
        expect(plan).toMatch(/Index Scan using job_common_(id|pkey) on job_common j[^\n]*\n\s+Index Cond: \(+id = /);
        expect(plan).not.toMatch(/Seq Scan|Rows Removed by Filter: \d{3,}|Rows Removed by Join Filter: \d{5,}/);
      }
      batch = claimed;
    }
  });
});
