/** The worker's HTTP surface and its start-up checks. */
import { createBoss, createMetricsRegistry, startBoss } from '@taskfleet/core';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { enqueue } from '../../../test-support/enqueue.ts';
import { startTestWorker, waitFor } from '../../../test-support/worker.ts';
import { createWorker } from '../src/worker.ts';

const db = useTestDatabase();

describe('worker surface', () => {
  it('serves /healthz, /readyz and metrics fed by worker events', async () => {
    const w = await startTestWorker(db, { WORKER_CONCURRENCY: '10' });
    try {
      expect((await w.worker.http.request('/healthz')).status).toBe(200);
      expect((await w.worker.http.request('/readyz')).status).toBe(200);
      const ids = await enqueue(db, 'noop', [{}, {}, { payload: { failPermanently: true } }]);
      expect(ids).toHaveLength(3);
      // The counters follow the database by a tick (events are emitted after the settle returns):
      // wait for what the metrics say, not for the rows.
      const scrape = async () => (await w.worker.http.request('/metrics')).text();
      const text = await waitFor(async () => {
        const t = await scrape();
        const done = /taskfleet_jobs_completed_total\{queue="noop",role="worker"\} 2/.test(t);
        const dead = /taskfleet_jobs_dead_lettered_total\{queue="noop",role="worker"\} 1/.test(t);
        return done && dead ? t : undefined;
      }, 'the worker metrics to count the three tasks');
      expect(text).toMatch(/taskfleet_jobs_completed_total\{queue="noop",role="worker"\} 2/);
      expect(text).toMatch(/taskfleet_jobs_dead_lettered_total\{queue="noop",role="worker"\} 1/);
      expect(text).toMatch(/taskfleet_jobs_failed_total\{queue="noop",kind="permanent",role="worker"\} 1/);
      expect(text).toMatch(/taskfleet_worker_slots\{kind="limit",role="worker"\} 10/);
      expect(text).toMatch(/taskfleet_worker_slots\{kind="reserved_critical",role="worker"\} 1/);
      expect(text).toMatch(/taskfleet_job_wait_seconds_count\{role="worker",queue="noop",priority="normal"\} 3/);
    } finally {
      await w.stop(1);
    }
    expect((await w.worker.http.request('/readyz')).status).toBe(503);
  });

  it('refuses to start with too few pool connections for its queues, saying how many it needs', async () => {
    const config = db.config({ WORKER_DB_POOL_SIZE: '3' });
    const boss = await startBoss(
      createBoss({ config, role: 'worker', logger: db.logger, max: 3, supervise: false, listen: false }),
      db.logger,
    );
    try {
      expect(() => createWorker({ config, boss, logger: db.logger, metrics: createMetricsRegistry('worker') })).toThrow(
        /WORKER_DB_POOL_SIZE=3 is too small for 3 queue\(s\): a replica needs at least 7 connections/,
      );
      expect(() =>
        createWorker({ config: db.config({ WORKER_QUEUES: 'nope' }), boss, logger: db.logger, metrics: createMetricsRegistry('worker') }),
      ).toThrow(/unknown queue\(s\): nope/);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
});
