/**
 * Fleet-wide flow control with real worker processes: a queue's concurrency limit and rate limit
 * hold across replicas (also while one is SIGKILLed and another starts), pause holds every start
 * and resume starts work at once (NOTIFY, no poll wait).
 */
import { updateQueueSettings } from '@taskfleet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { enqueue } from '../../../test-support/enqueue.ts';
import { type AppProcess, spawnApp, waitReady } from '../../../test-support/processes.ts';
import { states, waitFor } from '../../../test-support/worker.ts';

const db = useTestDatabase();
const children: AppProcess[] = [];
const exec = (text: string, values?: unknown[]) => db.query(text, values);

afterEach(async () => {
  for (const child of children.splice(0)) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
  await db.query('DELETE FROM pgboss.job');
  await db.query('DELETE FROM taskfleet.queue_settings');
});

async function worker(env: Record<string, string> = {}): Promise<AppProcess> {
  const child = await spawnApp('worker', {
    DATABASE_URL: db.url,
    LOG_LEVEL: 'warn',
    WORKER_POLL_INTERVAL_MS: '1000',
    WORKER_MAINTENANCE_INTERVAL_SECONDS: '1',
    ...env,
  });
  children.push(child);
  await waitReady(child);
  return child;
}

const allIn = (ids: string[], state: string) => async () =>
  [...(await states(db, ids)).values()].filter((s) => s === state).length === ids.length;

async function activeNow(): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop' AND state = 'active'`);
  return rows[0].n;
}

describe('fleet-wide flow control (3 worker processes)', () => {
  it('never runs more than the queue concurrency, while a replica is SIGKILLed and another starts', { timeout: 120_000 }, async () => {
    // Heartbeats at pg-boss's minimum, so the killed replica's jobs come back within ~12 s.
    await db.query(`UPDATE pgboss.queue SET heartbeat_seconds = 10 WHERE name = 'noop'`);
    await updateQueueSettings(exec, 'noop', { concurrency: 5 });
    await Promise.all([worker(), worker(), worker()]);
    const ids = await enqueue(
      db,
      'noop',
      Array.from({ length: 200 }, () => ({ payload: { sleepMs: 200 }, maxAttempts: 5 })),
    );
    let most = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, await activeNow());
        samples++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await waitFor(
        async () => (await db.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE state = 'completed'`)).rows[0].n >= 50,
        '50 done',
        60_000,
      );
      const victim = children[0] as AppProcess;
      victim.proc.kill('SIGKILL');
      await victim.exited;
      await worker();
      await waitFor(allIn(ids, 'completed'), 'all 200 completed', 90_000);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(samples).toBeGreaterThan(50);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(5);
  });

  it('starts at most `limit` tasks in any window of the period across replicas', { timeout: 90_000 }, async () => {
    await updateQueueSettings(exec, 'noop', { rate: { limit: 50, periodSeconds: 1 } });
    await Promise.all([worker(), worker(), worker()]);
    const ids = await enqueue(
      db,
      'noop',
      Array.from({ length: 500 }, () => ({})),
    );
    await waitFor(allIn(ids, 'completed'), 'all 500 completed', 60_000);
    const { rows } = await db.query(
      `SELECT extract(epoch FROM started_on)::float8 * 1000 AS ms FROM pgboss.job WHERE name = 'noop' ORDER BY started_on`,
    );
    const starts = rows.map((r: { ms: number }) => r.ms);
    let busiest = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while ((starts[j] as number) <= (starts[i] as number) - 1000) j++;
      busiest = Math.max(busiest, i - j + 1); // starts in the 1 s window ending at start i
    }
    expect(busiest).toBeLessThanOrEqual(51);
    const seconds = ((starts.at(-1) as number) - (starts[0] as number)) / 1000;
    expect(seconds).toBeGreaterThan(8.9); // 500 at 50/s: the last fifty start 9 s after the first
    expect(seconds).toBeLessThan(14);
  });

  it('starts nothing while paused and the first task within 100 ms of resume', { timeout: 60_000 }, async () => {
    await updateQueueSettings(exec, 'noop', { paused: true });
    await worker();
    const ids = await enqueue(
      db,
      'noop',
      Array.from({ length: 20 }, () => ({})),
    );
    await new Promise((r) => setTimeout(r, 5_000));
    expect([...(await states(db, ids)).values()].every((s) => s === 'created')).toBe(true);
    const resumed = await updateQueueSettings(exec, 'noop', { paused: false });
    await waitFor(allIn(ids, 'completed'), 'all 20 completed after resume', 10_000);
    const { rows } = await db.query(`SELECT min(started_on) AS first FROM pgboss.job WHERE id = ANY($1::uuid[])`, [ids]);
    const pickupMs = (rows[0].first as Date).getTime() - (resumed.updatedAt as Date).getTime();
    expect(pickupMs).toBeGreaterThanOrEqual(0);
    expect(pickupMs).toBeLessThan(100);
  });

  it('serves groups in turn: a tenant with 10,000 queued cannot hold back another tenant', { timeout: 120_000 }, async () => {
    await updateQueueSettings(exec, 'noop', { groupConcurrency: 10 });
    await worker({ WORKER_CONCURRENCY: '20' });
    const a = await enqueue(
      db,
      'noop',
      Array.from({ length: 10_000 }, () => ({ payload: { sleepMs: 50 }, group: 'tenant-a' })),
    );
    const b = await enqueue(
      db,
      'noop',
      Array.from({ length: 10 }, () => ({ payload: { sleepMs: 50 }, group: 'tenant-b' })),
    );
    let mostA = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop' AND state = 'active' AND group_id = 'tenant-a'`,
        );
        mostA = Math.max(mostA, rows[0].n);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await waitFor(allIn(b, 'completed'), "tenant B's ten completed", 30_000);
    } finally {
      sampling = false;
      await sampler;
    }
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM pgboss.job
       WHERE id = ANY($1::uuid[]) AND state = 'completed'
         AND completed_on <= (SELECT max(completed_on) FROM pgboss.job WHERE id = ANY($2::uuid[]))`,
      [a, b],
    );
    const aDoneBeforeB = rows[0].n as number;
    expect(aDoneBeforeB).toBeLessThan(200);
    expect(mostA).toBeGreaterThan(1);
    expect(mostA).toBeLessThanOrEqual(10);
    console.log(`[groups] tenant A had ${aDoneBeforeB} of 10,000 done when tenant B's 10 were; A ran at most ${mostA} at once`);
  });
});
