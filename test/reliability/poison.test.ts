/**
 * Poison tasks: handlers that throw, hang past their deadline ignoring the abort signal, or crash the
 * whole worker process. Each ends in dead-letter after its attempts; healthy tasks keep completing
 * meanwhile; a crashed worker process is replaced and the fleet goes on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLedgerTable, drained, Fleet, startLoad } from '../../test-support/chaos.ts';
import { useTestDatabase } from '../../test-support/database.ts';

const db = useTestDatabase();
let fleet: Fleet | undefined;
afterAll(() => fleet?.stop());

const MAX_ATTEMPTS = 2;

describe('poison tasks', () => {
  it('dead-letters throwing, hanging and crashing tasks while the rest flows', { timeout: 180_000 }, async () => {
    await createLedgerTable(db.query);
    const f = new Fleet({
      DATABASE_URL: db.url,
      WORKER_CONCURRENCY: '8',
      WORKER_MAINTENANCE_INTERVAL_SECONDS: '1',
      WORKER_POLL_INTERVAL_MS: '200',
      WORKER_ABANDON_GRACE_MS: '500',
    });
    f.restartCrashedWorkers = true;
    fleet = f;
    await f.addApi();
    await f.addWorker();
    await f.addWorker();

    const load = startLoad({ urls: () => f.apiUrls(), concurrency: 2, pauseMs: 20, payload: (key) => ({ key, sleepMs: 10 }) });
    const poison = { maxAttempts: MAX_ATTEMPTS, timeoutSeconds: 1 };
    const ids = {
      throw: [await f.submit({ key: 'p-throw-1', mode: 'throw' }, poison), await f.submit({ key: 'p-throw-2', mode: 'throw' }, poison)],
      hang: [await f.submit({ key: 'p-hang-1', mode: 'hang' }, poison), await f.submit({ key: 'p-hang-2', mode: 'hang' }, poison)],
      crash: [await f.submit({ key: 'p-crash-1', mode: 'crash' }, poison)],
    };
    const poisonIds = [...ids.throw, ...ids.hang, ...ids.crash];
    // A crashed worker's attempts are given back by the surviving replica's rescue (dead after 5 s).
    const poisoned = await drained(db.query, poisonIds, 90_000);
    const report = await load.stop();
    const healthy = [...report.acked.keys()];
    const flowed = await drained(db.query, healthy, 60_000);

    expect(poisoned.unfinished).toEqual([]);
    expect(poisoned.deadLettered).toBe(poisonIds.length);
    expect(report.failures).toEqual([]);
    expect(flowed.completed).toBe(healthy.length);
    expect(healthy.length).toBeGreaterThan(200); // healthy tasks kept flowing through the ~25 s of poison

    const { rows } = await db.query<{ id: string; runs: number; output: unknown }>(
      `SELECT j.id, j.output, (SELECT count(*)::int FROM test_ledger l WHERE l.task_id = j.id) AS runs
         FROM pgboss.job j WHERE j.id = ANY($1::uuid[])`,
      [poisonIds],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of poisonIds) {
      const runs = byId.get(id)?.runs ?? 0;
      expect(runs, `executions of ${id}`).toBeGreaterThanOrEqual(1);
      expect(runs, `executions of ${id}`).toBeLessThanOrEqual(MAX_ATTEMPTS);
    }
    for (const id of ids.throw) {
      expect(byId.get(id)?.runs).toBe(MAX_ATTEMPTS);
      expect(JSON.stringify(byId.get(id)?.output)).toMatch(/poison task p-throw/);
    }
    // Each attempt of a hanging task ended at its deadline — or, when the crashing task took down the
    // worker it ran on, with that worker (given back by the rescue): the history says which.
    for (const id of ids.hang) {
      const history = (byId.get(id)?.output as { history?: { name: string }[] } | null)?.history ?? [];
      expect(
        history.map((h) => h.name).every((n) => n === 'TimeoutError' || n === 'WorkerLostError'),
        JSON.stringify(history),
      ).toBe(true);
      expect(history, id).toHaveLength(MAX_ATTEMPTS);
    }

    // Each crash took its worker process down (exit 1, logged), and a replacement took over.
    const crashes = f.unexpectedExits();
    expect(crashes.length).toBeGreaterThanOrEqual(1);
    expect(crashes.every((e) => e.role === 'worker' && e.code === 1)).toBe(true);
    expect(f.crashOutput.join('\n')).toMatch(/crashed the worker/);
    expect(f.workers.every((w) => w.proc.exitCode === null)).toBe(true);
    console.log(
      `[poison] ${poisonIds.length} poison tasks dead-lettered (runs ${rows.map((r) => r.runs).join(',')}); ` +
        `${crashes.length} worker crash(es) replaced; ${healthy.length} healthy tasks completed meanwhile`,
    );
  });
});
