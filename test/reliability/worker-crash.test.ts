/**
 * Worker crash: an API and 3 worker processes under continuous load; a random worker is SIGKILLed
 * (and replaced) every few seconds; then the load stops and the fleet drains. Every acknowledged task
 * completes, and every task that ran twice traces to a worker killed while it ran.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { auditLedger, createLedgerTable, drained, Fleet, startLoad } from '../../test-support/chaos.ts';
import { useTestDatabase } from '../../test-support/database.ts';

const db = useTestDatabase();
let fleet: Fleet | undefined;
afterAll(() => fleet?.stop());

const KILLS = 5;
const KILL_EVERY_MS = 3_000;

describe('worker crash under load', () => {
  it('loses nothing when workers are SIGKILLed mid-run', { timeout: 180_000 }, async () => {
    await createLedgerTable(db.query);
    const f = new Fleet({
      DATABASE_URL: db.url,
      WORKER_CONCURRENCY: '16',
      WORKER_MAINTENANCE_INTERVAL_SECONDS: '1',
      WORKER_POLL_INTERVAL_MS: '200',
    });
    fleet = f;
    await f.addApi();
    for (let i = 0; i < 3; i++) await f.addWorker();

    const load = startLoad({ urls: () => f.apiUrls(), concurrency: 4, pauseMs: 5, payload: (key) => ({ key, sleepMs: 50 }) });
    const victims: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
      const { killed } = await f.killAndReplaceWorker(Math.floor(Math.random() * f.workers.length));
      victims.push(killed);
    }
    const report = await load.stop();
    expect(report.failures).toEqual([]);
    const ids = [...report.acked.keys()];
    expect(ids.length).toBeGreaterThan(500);

    // Killed workers' jobs are given back by the live replicas' rescue (dead after 5 s).
    const audit = await drained(db.query, ids, 90_000);
    expect(audit.lost).toEqual([]);
    expect(audit.unfinished).toEqual([]);
    expect(audit.completed).toBe(ids.length);
    // A killed worker can only have had its slots' worth of jobs in flight.
    expect(audit.reruns.length).toBeLessThanOrEqual(KILLS * 16);
    // Every earlier execution of a re-run task was on a worker killed after that execution began.
    for (const { id, runs } of audit.reruns) {
      for (const run of runs.slice(0, -1)) {
        const killedAt = f.killed.get(run.pid);
        expect(killedAt, `task ${id} re-ran after pid ${run.pid}, which was not killed`).toBeDefined();
        expect(run.at.getTime(), `task ${id}`).toBeLessThanOrEqual(killedAt ?? 0);
      }
    }
    expect(f.unexpectedExits()).toEqual([]);
    const again = await auditLedger(db.query, ids);
    console.log(
      `[worker-crash] ${ids.length} acknowledged, ${again.completed} completed, ${again.executions} executions, ` +
        `${again.reruns.length} re-run (all on the ${victims.length} killed workers), statuses ${JSON.stringify(report.statuses)}`,
    );
  });
});
