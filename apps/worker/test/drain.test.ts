/** Graceful drain, replicas sharing a queue, and a SIGKILLed replica whose jobs another one finishes. */
import { noopTask } from '@taskfleet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { enqueue } from '../../../test-support/enqueue.ts';
import { spawnApp } from '../../../test-support/processes.ts';
import { startTestWorker, states, type TestWorker, waitFor } from '../../../test-support/worker.ts';
import { defineHandler } from '../src/handlers/types.ts';

const db = useTestDatabase();
const workers: TestWorker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(1);
  await db.query(`DELETE FROM pgboss.job`);
});
const allIn = (ids: string[], state: string) => async () =>
  [...(await states(db, ids)).values()].filter((s) => s === state).length === ids.length;

describe('graceful drain', () => {
  it('lets running jobs finish within the grace period, and claims nothing new', async () => {
    const running = await enqueue(
      db,
      'noop',
      Array.from({ length: 5 }, () => ({ payload: { sleepMs: 400 } })),
    );
    const w = await startTestWorker(db, { WORKER_CONCURRENCY: '5', WORKER_CRITICAL_RESERVED_SLOTS: '0' });
    await waitFor(() => w.worker.slots.active === 5, '5 running');
    const waiting = await enqueue(
      db,
      'noop',
      Array.from({ length: 5 }, () => ({})),
    );
    await w.stop(10);
    expect([...(await states(db, running)).values()]).toEqual(Array(5).fill('completed'));
    expect([...(await states(db, waiting)).values()]).toEqual(Array(5).fill('created'));
  });

  it('aborts jobs still running after the grace period back into retry without using an attempt', async () => {
    const [id] = await enqueue(db, 'noop', [{ payload: { sleepMs: 30_000 }, maxAttempts: 1 }]);
    const w = await startTestWorker(db);
    await waitFor(() => w.worker.slots.active === 1, 'running');
    const started = Date.now();
    await w.stop(0.3);
    expect(Date.now() - started).toBeLessThan(5000);
    const { rows } = await db.query(`SELECT state, retry_count, retry_limit, output FROM pgboss.job WHERE id = $1`, [id]);
    // Its only attempt was given back: it is retried, not dead-lettered.
    expect(rows[0]).toMatchObject({ state: 'retry', retry_count: 0, retry_limit: 1 });
    expect(rows[0].output.error.name).toBe('ShutdownError');
  });
});

describe('replicas', () => {
  it('two replicas drain one queue without running any attempt twice', async () => {
    const seen = new Map<string, number>();
    const ran = { a: 0, b: 0 };
    const track = (replica: 'a' | 'b') =>
      defineHandler(noopTask, async (_p, ctx) => {
        const key = `${ctx.jobId}:${ctx.attempt}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        ran[replica]++;
        await new Promise((r) => setTimeout(r, 2));
        return null;
      });
    // Both replicas are up (and listening) before the work arrives, so both get a share.
    const a = await startTestWorker(db, { WORKER_CONCURRENCY: '20' }, [track('a')]);
    const b = await startTestWorker(db, { WORKER_CONCURRENCY: '20' }, [track('b')]);
    workers.push(a, b);
    const ids = await enqueue(
      db,
      'noop',
      Array.from({ length: 600 }, () => ({})),
    );
    await waitFor(allIn(ids, 'completed'), 'all completed', 30_000);
    expect(seen.size).toBe(600);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(ran.a + ran.b).toBe(600);
    expect(ran.a).toBeGreaterThan(0);
    expect(ran.b).toBeGreaterThan(0);
  });

  it("completes a SIGKILLed replica's running jobs on another replica by heartbeat expiry alone (the fallback behind the rescue)", {
    timeout: 60_000,
  }, async () => {
    // Heartbeats at pg-boss's minimum (10 s) so the test is quick.
    await db.query(`UPDATE pgboss.queue SET heartbeat_seconds = 10 WHERE name = 'noop'`);
    const ids = await enqueue(
      db,
      'noop',
      Array.from({ length: 3 }, () => ({ payload: { sleepMs: 120_000 }, maxAttempts: 3, timeoutSeconds: 600 })),
    );
    const child = await spawnApp('worker', { DATABASE_URL: db.url, LOG_LEVEL: 'warn', WORKER_MAINTENANCE_INTERVAL_SECONDS: '1' });
    await waitFor(allIn(ids, 'active'), 'the child claimed the jobs', 20_000);
    child.proc.kill('SIGKILL');
    await child.exited;
    // The survivor's pg-boss maintenance notices the missed heartbeats and puts the jobs back (its
    // dead-replica rescue is pushed out of the way: test/reliability/replica-rescue.test.ts covers it);
    // its handler finishes at once, so the re-run is visible in the output.
    const quick = defineHandler(noopTask, async () => ({ rescued: true }));
    const env = { WORKER_MAINTENANCE_INTERVAL_SECONDS: '1', WORKER_DEAD_AFTER_SECONDS: '3600' };
    const survivor = await startTestWorker(db, env, [quick], { supervise: true });
    workers.push(survivor);
    await waitFor(allIn(ids, 'completed'), 'rescued and completed', 40_000);
    const { rows } = await db.query(`SELECT retry_count, output FROM pgboss.job WHERE id = ANY($1::uuid[])`, [ids]);
    for (const row of rows) expect(row).toMatchObject({ retry_count: 1, output: { rescued: true } });
  });
});
