import { noopTask } from '@taskfleet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { enqueue } from '../../../test-support/enqueue.ts';
import { startTestWorker, states, type TestWorker, waitFor } from '../../../test-support/worker.ts';
import { defineHandler } from '../src/handlers/types.ts';

const db = useTestDatabase();
const workers: TestWorker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(1);
  await db.query(`DELETE FROM pgboss.job`);
});

async function start(env: Record<string, string> = {}, handlers = [] as Parameters<typeof startTestWorker>[2]) {
  const w = await startTestWorker(db, env, handlers);
  workers.push(w);
  return w;
}

/** A noop handler that measures how many of its calls overlap. */
function concurrencyProbe() {
  let running = 0;
  let peak = 0;
  const handler = defineHandler(noopTask, async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 20));
    running--;
    return null;
  });
  return { handler, peak: () => peak };
}

const allIn = (ids: string[], state: string) => async () =>
  [...(await states(db, ids)).values()].filter((s) => s === state).length === ids.length;

describe('worker', () => {
  it('drains a queue and stores each output', async () => {
    const ids = await enqueue(
      db,
      'noop',
      Array.from({ length: 50 }, (_, i) => ({ payload: { echo: i } })),
    );
    await start();
    await waitFor(allIn(ids, 'completed'), '50 completed');
    const { rows } = await db.query(`SELECT output FROM pgboss.job WHERE id = $1`, [ids[7]]);
    expect(rows[0].output).toEqual({ echo: 7 });
  });

  it('never runs more jobs at once than WORKER_CONCURRENCY (measured by the handler)', async () => {
    const counting = concurrencyProbe();
    const ids = await enqueue(
      db,
      'noop',
      Array.from({ length: 120 }, () => ({})),
    );
    await start({ WORKER_CONCURRENCY: '7', WORKER_CRITICAL_RESERVED_SLOTS: '0' }, [counting.handler]);
    await waitFor(allIn(ids, 'completed'), 'all completed');
    expect(counting.peak()).toBe(7);
  });

  it('respects per-queue limits', async () => {
    const counting = concurrencyProbe();
    const ids = await enqueue(
      db,
      'noop',
      Array.from({ length: 40 }, () => ({})),
    );
    await start({ WORKER_CONCURRENCY: '20', WORKER_QUEUE_CONCURRENCY: 'noop=3' }, [counting.handler]);
    await waitFor(allIn(ids, 'completed'), 'all completed');
    expect(counting.peak()).toBe(3);
  });

  it('runs higher priorities first', async () => {
    const order: string[] = [];
    const recording = defineHandler(noopTask, async (payload) => {
      order.push(String(payload.echo));
      return null;
    });
    const ids = [
      ...(await enqueue(db, 'noop', [{ payload: { echo: 'low' }, priority: 'low' }])),
      ...(await enqueue(db, 'noop', [{ payload: { echo: 'normal' }, priority: 'normal' }])),
      ...(await enqueue(db, 'noop', [{ payload: { echo: 'critical' }, priority: 'critical' }])),
      ...(await enqueue(db, 'noop', [{ payload: { echo: 'high' }, priority: 'high' }])),
    ];
    await start({ WORKER_CONCURRENCY: '1', WORKER_FETCH_BATCH: '1', WORKER_CRITICAL_RESERVED_SLOTS: '0' }, [recording]);
    await waitFor(allIn(ids, 'completed'), 'all completed');
    expect(order).toEqual(['critical', 'high', 'normal', 'low']);
  });

  it('keeps reserved slots for critical tasks while low-priority work fills the rest', async () => {
    const lows = await enqueue(
      db,
      'noop',
      Array.from({ length: 20 }, () => ({ payload: { sleepMs: 3000 }, priority: 'low' as const })),
    );
    const w = await start({ WORKER_CONCURRENCY: '4', WORKER_CRITICAL_RESERVED_SLOTS: '1' });
    await waitFor(async () => w.worker.slots.active === 3, '3 low jobs running');
    await new Promise((r) => setTimeout(r, 300));
    expect(w.worker.slots.active).toBe(3); // the fourth slot stays free for critical work
    const startedAt = Date.now();
    const [critical] = await enqueue(db, 'noop', [{ payload: { echo: 'urgent' }, priority: 'critical' }]);
    await waitFor(allIn([critical as string], 'completed'), 'critical completed', 5000);
    expect(Date.now() - startedAt).toBeLessThan(2000); // long before any low job frees a slot
    expect([...(await states(db, lows)).values()].filter((s) => s === 'completed')).toHaveLength(0);
  });

  it('retries with backoff, then completes', async () => {
    const starts: number[] = [];
    const w = await start();
    w.worker.events.on('job:start', () => starts.push(Date.now())); // listening before the task exists
    const [id] = await enqueue(db, 'noop', [{ payload: { failAttempts: 2 }, maxAttempts: 3 }]);
    await waitFor(allIn([id as string], 'completed'), 'completed after retries', 20_000);
    expect(starts).toHaveLength(3);
    // noop retries after 1 s, doubling with jitter (pg-boss backoff): each gap is at least ~0.5 s.
    expect((starts[1] as number) - (starts[0] as number)).toBeGreaterThan(400);
    expect((starts[2] as number) - (starts[1] as number)).toBeGreaterThan(400);
  });

  it('does not retry a permanent error and dead-letters the task with its error history', async () => {
    const [id] = await enqueue(db, 'noop', [{ payload: { failPermanently: true }, maxAttempts: 5 }]);
    await start();
    await waitFor(allIn([id as string], 'failed'), 'failed');
    const { rows } = await db.query(`SELECT retry_count FROM pgboss.job WHERE id = $1`, [id]);
    expect(rows[0].retry_count).toBe(0);
    const { rows: dead } = await db.query(`SELECT data, source_output FROM pgboss.job WHERE name = 'noop.dead' AND source_id = $1`, [id]);
    expect(dead).toHaveLength(1);
    expect(dead[0].data.payload).toEqual({ failPermanently: true });
    expect(dead[0].source_output.history[0]).toMatchObject({ name: 'PermanentError', attempt: 1 });
  });

  it('dead-letters after the last attempt with every attempt in the history', async () => {
    const [id] = await enqueue(db, 'noop', [{ payload: { failAttempts: 99 }, maxAttempts: 2 }]);
    await start();
    await waitFor(allIn([id as string], 'failed'), 'failed', 20_000);
    const { rows } = await db.query(`SELECT output FROM pgboss.job WHERE id = $1`, [id]);
    expect(rows[0].output.history.map((h: { attempt: number }) => h.attempt)).toEqual([1, 2]);
    const { rows: dead } = await db.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop.dead' AND source_id = $1`, [id]);
    expect(dead[0].n).toBe(1);
  });

  it('aborts a handler at its deadline and retries the task', async () => {
    const [id] = await enqueue(db, 'noop', [{ payload: { sleepMs: 60_000 }, timeoutSeconds: 1, maxAttempts: 2 }]);
    const w = await start();
    const failure = new Promise<{ kind: string; willRetry: boolean }>((resolve) => w.worker.events.once('job:fail', resolve));
    const f = await failure;
    expect(f).toMatchObject({ kind: 'timeout', willRetry: true });
    const output = await waitFor(
      async () => (await db.query(`SELECT output FROM pgboss.job WHERE id = $1`, [id])).rows[0]?.output,
      'failure recorded',
    );
    expect(output.error).toMatchObject({ name: 'TimeoutError', attempt: 1, message: 'the attempt exceeded its 1 s deadline' });
  });

  it('gives a handler that first reads its signal after the deadline an already aborted one', async () => {
    let seen: { aborted: boolean; reason: unknown } | undefined;
    const late = defineHandler(noopTask, async (_payload, ctx) => {
      await new Promise((r) => setTimeout(r, 1_300)); // past the 1 s deadline, signal not yet taken
      seen = { aborted: ctx.signal.aborted, reason: ctx.signal.reason };
      throw ctx.signal.reason;
    });
    const [id] = await enqueue(db, 'noop', [{ timeoutSeconds: 1, maxAttempts: 1 }]);
    const w = await start({ WORKER_ABANDON_GRACE_MS: '5000' }, [late]);
    const failure = new Promise<{ kind: string }>((resolve) => w.worker.events.once('job:fail', resolve));
    expect(await failure).toMatchObject({ kind: 'timeout' });
    expect(seen).toMatchObject({ aborted: true, reason: { name: 'TimeoutError' } });
    await waitFor(allIn([id as string], 'failed'), 'failed');
  });

  it('releases the slot of a handler that ignores its signal (abandon)', async () => {
    const stuck = defineHandler(noopTask, () => new Promise(() => {})); // never settles, ignores abort
    const [id] = await enqueue(db, 'noop', [{ timeoutSeconds: 1, maxAttempts: 1 }]);
    const w = await start({ WORKER_ABANDON_GRACE_MS: '200', WORKER_CONCURRENCY: '1', WORKER_CRITICAL_RESERVED_SLOTS: '0' }, [stuck]);
    await waitFor(allIn([id as string], 'failed'), 'stuck job failed', 10_000);
    await waitFor(() => w.worker.slots.active === 0, 'slot released');
  });
});
