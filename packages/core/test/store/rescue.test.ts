/**
 * The store side of dead-replica rescue: which running jobs count as a dead replica's (by the
 * claim's incarnation and its presence row), and giving them back exactly once.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { claimJobs, executorOf, findDeadClaims, insertTasks, rescueAttempts, takenOver, upsertPresence, uuidv7 } from '@taskfleet/core';
import { useTestBoss } from '../../../../test-support/boss.ts';
import { useTestDatabase } from '../../../../test-support/database.ts';

const db = useTestDatabase();
const boss = useTestBoss(db, 4);
afterEach(async () => {
  await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
  await db.query('DELETE FROM taskfleet.workers');
});

const presence = { hostname: 'h', pid: 1, queues: ['noop'], concurrency: 4, active: 0 };

/** An incarnation with a presence row `ageSeconds` old (none: no row), holding `n` running jobs. */
async function replica(n: number, ageSeconds: number | null, id = 'worker-a') {
  const incarnation = randomUUID();
  const exec = executorOf(boss());
  if (ageSeconds !== null) {
    await upsertPresence(exec, incarnation, { ...presence, id });
    await db.query(`UPDATE taskfleet.workers SET seen_at = now() - $2 * interval '1 second' WHERE incarnation = $1`, [
      incarnation,
      ageSeconds,
    ]);
  }
  await insertTasks(
    exec,
    'noop',
    Array.from({ length: n }, () => ({ id: uuidv7(), data: {} })),
  );
  const { claimed } = await claimJobs(exec, 'noop', n, undefined, incarnation);
  return { incarnation, attempts: claimed.map((j) => ({ id: j.id, retryCount: j.retryCount })) };
}

describe('dead claims', () => {
  it('are the running jobs of incarnations with a stale or missing presence row, never the caller’s own', async () => {
    const self = await replica(1, 0);
    const live = await replica(2, 1);
    const stale = await replica(3, 30);
    const gone = await replica(2, null);
    const restarted = await replica(0, 0, 'worker-a'); // same WORKER_ID as the others, a new process
    const dead = await findDeadClaims(executorOf(boss()), self.incarnation, 5);
    expect(new Map(dead.map((d) => [d.owner, d.attempts.length]))).toEqual(
      new Map([
        [stale.incarnation, 3],
        [gone.incarnation, 2],
      ]),
    );
    expect(dead.map((d) => d.owner)).not.toContain(live.incarnation);
    expect(dead.map((d) => d.owner)).not.toContain(restarted.incarnation);
  });

  it('are given back once however many replicas rescue them at the same moment, and then ready at once', async () => {
    const stale = await replica(5, 60);
    await db.query(`UPDATE pgboss.job SET output = '{"history":[{"attempt":0,"name":"Earlier"}]}' WHERE id = $1`, [stale.attempts[0]?.id]);
    const lost = { name: 'WorkerLostError', message: 'gone' };
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => rescueAttempts(boss(), 'noop', stale.attempts, lost)));
    expect((a as number) + (b as number) + (c as number)).toBe(5);
    const { rows } = await db.query(`SELECT state::text, start_after <= now() AS ready FROM pgboss.job WHERE id = ANY($1::uuid[])`, [
      stale.attempts.map((x) => x.id),
    ]);
    expect(rows).toEqual(Array.from({ length: 5 }, () => ({ state: 'retry', ready: true })));
    // Each keeps its attempt history, with the lost attempt appended.
    const { rows: kept } = await db.query(`SELECT output FROM pgboss.job WHERE id = $1`, [stale.attempts[0]?.id]);
    expect(kept[0].output).toMatchObject({
      error: { name: 'WorkerLostError', attempt: 1 },
      history: [{ name: 'Earlier' }, { name: 'WorkerLostError', message: 'gone', attempt: 1 }],
    });
    // The dead replica, were it to come back, finds them taken and cannot complete them.
    expect((await takenOver(executorOf(boss()), stale.incarnation, stale.attempts)).sort()).toEqual(stale.attempts.map((x) => x.id).sort());
  });
});
