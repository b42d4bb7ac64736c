/**
 * Rolling deploy: two API replicas under load are SIGTERMed and replaced one at a time (the test is
 * the balancer: it keeps routing to a draining replica for a second, then deregisters it as a health
 * check would, and moves on when a connection is refused). Clients see nothing but 2xx and
 * retryable 503s; every replica exits 0; no acknowledged task is lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLedgerTable, drained, Fleet, startLoad } from '../../test-support/chaos.ts';
import { useTestDatabase } from '../../test-support/database.ts';

const db = useTestDatabase();
let fleet: Fleet | undefined;
afterAll(() => fleet?.stop());

describe('API rolling deploy', () => {
  it('replaces every API replica under load without a failed request or a lost task', { timeout: 180_000 }, async () => {
    await createLedgerTable(db.query);
    const f = new Fleet({ DATABASE_URL: db.url, WORKER_CONCURRENCY: '32', API_GROUP_COMMIT_WINDOW_MS: '5' });
    fleet = f;
    await f.addApi();
    await f.addApi();
    await f.addWorker();
    const load = startLoad({ urls: () => f.apiUrls(), concurrency: 8, pauseMs: 2 });
    const exitCodes: (number | null)[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) {
        await new Promise((r) => setTimeout(r, 1_500));
        exitCodes.push((await f.rollApi(i)).code);
      }
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const report = await load.stop();

    expect(exitCodes).toEqual([0, 0, 0, 0]);
    expect(report.failures).toEqual([]);
    // No request failed after it was sent: only refused connections (nothing sent) and 503s.
    expect(report.resets).toBe(0);
    expect(Object.keys(report.statuses).sort()).toEqual(expect.arrayContaining(['202']));
    for (const s of Object.keys(report.statuses)) expect(['0', '202', '503']).toContain(s);

    const ids = [...report.acked.keys()];
    expect(ids.length).toBeGreaterThan(300);
    const audit = await drained(db.query, ids, 60_000);
    expect(audit.lost).toEqual([]);
    expect(audit.unfinished).toEqual([]);
    expect(audit.reruns).toEqual([]);
    expect(f.unexpectedExits()).toEqual([]);
    console.log(
      `[rolling-deploy] 4 replica replacements; ${ids.length} acknowledged, all completed once; ` +
        `refused connections ${report.refused}, resets ${report.resets}; statuses ${JSON.stringify(report.statuses)}`,
    );
  });
});
