/**
 * A settle statement claims successors for the slots its batch frees, while the queue loop claims
 * for slots freed otherwise. Both must never count the same slot: a replica holds at most
 * WORKER_CONCURRENCY active jobs, measured where it matters — in the job table, sampled
 * continuously through a drain whose tasks finish at scattered times (so batches, loop claims
 * and reserved critical slots interleave). Handing the slots over after the batch released them
 * once let the loop claim them too (110 active jobs in 100 slots).
 */
import { noopTask } from '@taskfleet/core';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { enqueue } from '../../../test-support/enqueue.ts';
import { startTestWorker, type TestWorker } from '../../../test-support/worker.ts';
import { defineHandler } from '../src/handlers/types.ts';

const db = useTestDatabase();
const workers: TestWorker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(1);
});

describe('slots with settle-and-claim', () => {
  it('never holds more active jobs than WORKER_CONCURRENCY', async () => {
    const slots = 10;
    const total = 1500;
    await enqueue(
      db,
      'noop',
      Array.from({ length: total }, (_, i) => ({ priority: i % 10 === 0 ? ('critical' as const) : ('low' as const) })),
    );
    const scattered = defineHandler(noopTask, async () => {
      await new Promise((r) => setTimeout(r, Math.random() * 8));
      return null;
    });
    workers.push(await startTestWorker(db, { WORKER_CONCURRENCY: String(slots), WORKER_CRITICAL_RESERVED_SLOTS: '2' }, [scattered]));
    const sampler = new pg.Client(db.url);
    await sampler.connect();
    let peak = 0;
    let samples = 0;
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { rows } = await sampler.query<{ active: number; done: number }>(
          `SELECT count(*) FILTER (WHERE state = 'active')::int AS active, count(*) FILTER (WHERE state = 'completed')::int AS done
           FROM pgboss.job WHERE name = 'noop'`,
        );
        peak = Math.max(peak, rows[0]?.active ?? 0);
        samples++;
        if (rows[0]?.done === total) break;
        if (Date.now() > deadline) throw new Error(`not drained: ${rows[0]?.done}/${total}`);
      }
    } finally {
      await sampler.end();
    }
    expect(samples).toBeGreaterThan(20);
    expect(peak).toBeGreaterThan(slots / 2); // the drain did fill the slots
    expect(peak).toBeLessThanOrEqual(slots);
  });
});
