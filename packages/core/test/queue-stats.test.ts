/** Queue gauges: exact against the database, one computation per interval for the whole fleet. */
import {
  claimJobs,
  computeQueueStats,
  createMetricsRegistry,
  executorOf,
  QueueStatsExporter,
  TASK_NAMES,
  updateQueueSettings,
} from '@taskfleet/core';
import { describe, expect, it } from 'vitest';
import { useTestBoss } from '../../../test-support/boss.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { enqueue } from '../../../test-support/enqueue.ts';

const db = useTestDatabase();
const boss = useTestBoss(db, 4);

const registries = new WeakMap<QueueStatsExporter, ReturnType<typeof createMetricsRegistry>>();
const exporter = (intervalSeconds = 60) => {
  const registry = createMetricsRegistry('test');
  const e = new QueueStatsExporter({
    executeSql: (t, v) => boss().getDb().executeSql(t, v),
    registry,
    logger: db.logger,
    intervalSeconds,
    queues: TASK_NAMES,
  });
  registries.set(e, registry);
  return e;
};

describe('queue stats', () => {
  it('exports depth by state and priority and the oldest ready age, matching the database', async () => {
    await enqueue(db, 'noop', [{ priority: 'low' }, { priority: 'low' }, { priority: 'critical' }, { delaySeconds: 600 }]);
    await enqueue(db, 'http.request', [{ payload: { url: 'https://example.com' } }]);
    const [claimed] = await boss().fetch('noop', { batchSize: 1 }); // one active (the critical one)
    expect(claimed).toBeDefined();
    await db.query(
      `UPDATE pgboss.job SET start_after = now() - interval '90 seconds' WHERE name = 'noop' AND state = 'created' AND start_after <= now()`,
    );
    const dead = await enqueue(db, 'noop.dead', [{}, {}]);
    expect(dead).toHaveLength(2);
    const e = exporter();
    await e.refresh();
    const text = (await registries.get(e)?.metrics()) ?? '';
    expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="ready",role="test"\} 2/);
    expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="scheduled",role="test"\} 1/);
    expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="active",role="test"\} 1/);
    expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="dead_lettered",role="test"\} 2/);
    expect(text).toMatch(/taskfleet_queue_depth\{queue="http.request",state="ready",role="test"\} 1/);
    expect(text).toMatch(/taskfleet_queue_ready\{queue="noop",priority="low",role="test"\} 2/);
    expect(text).toMatch(/taskfleet_queue_ready\{queue="noop",priority="critical",role="test"\} 0/);
    const age = Number(/taskfleet_queue_oldest_ready_age_seconds\{queue="noop",role="test"\} (\S+)/.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(120);
    expect(text).not.toMatch(/queue="noop.dead"/);
    await e.stop();
  });

  it('counts the ready tasks of a paused queue as throttled, not ready, and exports the pause', async () => {
    await db.query('DELETE FROM pgboss.job');
    await enqueue(db, 'noop', [{}, {}, {}]);
    await updateQueueSettings((t, v) => boss().getDb().executeSql(t, v), 'noop', { paused: true });
    await db.query(`UPDATE taskfleet.queue_stats SET claimed_at = '-infinity'`); // due now, whatever ran before
    try {
      const e = exporter();
      await e.refresh();
      const text = (await registries.get(e)?.metrics()) ?? '';
      expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="ready",role="test"\} 0/);
      expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="throttled",role="test"\} 3/);
      expect(text).toMatch(/taskfleet_queue_paused\{queue="noop",role="test"\} 1/);
      expect(text).toMatch(/taskfleet_queue_paused\{queue="http.request",role="test"\} 0/);
      await e.stop();
    } finally {
      await updateQueueSettings((t, v) => boss().getDb().executeSql(t, v), 'noop', { paused: false });
      await db.query('DELETE FROM pgboss.job');
    }
  });

  it.each([
    ['at its fleet-wide concurrency', { concurrency: 1 }],
    ['with its rate window full', { rate: { limit: 1, periodSeconds: 3600 } }],
  ])('counts the ready tasks of a queue %s as throttled', async (_case, settings) => {
    const exec = (t: string, v?: unknown[]) => boss().getDb().executeSql(t, v);
    await db.query('DELETE FROM pgboss.job');
    await enqueue(db, 'noop', [{}, {}, {}]);
    await updateQueueSettings(exec, 'noop', settings);
    await claimJobs(executorOf(boss()), 'noop', 3); // the limit lets exactly one start
    await db.query(`UPDATE taskfleet.queue_stats SET claimed_at = '-infinity'`);
    try {
      const e = exporter();
      await e.refresh();
      const text = (await registries.get(e)?.metrics()) ?? '';
      expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="active",role="test"\} 1/);
      expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="ready",role="test"\} 0/);
      expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="throttled",role="test"\} 2/);
      await e.stop();
    } finally {
      await db.query('DELETE FROM taskfleet.queue_settings');
      await db.query('DELETE FROM pgboss.job');
    }
  });

  it('counts exactly up to the cap and estimates above it from a sample, within its error', async () => {
    await db.query('DELETE FROM pgboss.job');
    const insert = (queue: string, n: number, priority: number, delay = '0') =>
      db.query(
        `INSERT INTO pgboss.job (id, name, data, priority, start_after)
         SELECT gen_random_uuid(), $1, '{"payload":{}}', $3, now() + $4::interval FROM generate_series(1, $2)`,
        [queue, n, priority, delay],
      );
    // noop: 60,000 waiting over the cap (estimated); http.request: 900 (exact), 300 of them scheduled.
    await insert('noop', 40_000, 0);
    await insert('noop', 20_000, 20);
    await insert('http.request', 600, 0);
    await insert('http.request', 300, 0, '1 hour');
    const exec = (t: string, v?: unknown[]) => boss().getDb().executeSql(t, v);
    const rows = await computeQueueStats(exec, 1_000);
    const http = rows.filter((r) => r.queue === 'http.request');
    expect(http).toEqual([expect.objectContaining({ priority: 0, ready: 600, scheduled: 300, active: 0 })]);
    expect(http[0]?.estimated).toBeUndefined();
    const noop = new Map(rows.filter((r) => r.queue === 'noop').map((r) => [r.priority, r]));
    expect(noop.get(0)?.estimated).toBe(true);
    // The table holds ~1,200 pages here, so 500 are sampled (~40 %): a series over k pages has a
    // relative standard error of √(0.6 / 0.4k) — 4 % for 40,000 rows (770 pages), 6 % for 20,000 — and
    // ±25 % is over four of them.
    expect(noop.get(0)?.ready).toBeGreaterThan(40_000 * 0.75);
    expect(noop.get(0)?.ready).toBeLessThan(40_000 * 1.25);
    expect(noop.get(20)?.ready).toBeGreaterThan(20_000 * 0.75);
    expect(noop.get(20)?.ready).toBeLessThan(20_000 * 1.25);
    expect(noop.get(20)?.oldestReadyAgeSeconds).toBeGreaterThanOrEqual(0);

    const e = exporter();
    await db.query(`UPDATE taskfleet.queue_stats SET claimed_at = '-infinity'`);
    await e.refresh();
    const text = (await registries.get(e)?.metrics()) ?? '';
    expect(text).toMatch(/taskfleet_queue_depth_estimated\{queue="noop",role="test"\} 1/);
    expect(text).toMatch(/taskfleet_queue_depth_estimated\{queue="http.request",role="test"\} 0/);
    await e.stop();
    await db.query('DELETE FROM pgboss.job');
  });

  it('computes once per interval however many replicas refresh', async () => {
    await db.query(`UPDATE taskfleet.queue_stats SET claimed_at = '-infinity'`);
    const replicas = [exporter(), exporter(), exporter()];
    await Promise.all(replicas.map((r) => r.refresh()));
    await Promise.all(replicas.map((r) => r.refresh()));
    expect(replicas.reduce((n, r) => n + r.computations, 0)).toBe(1);
    const snapshots = replicas.map((r) => JSON.stringify([...r.depthByQueue()]));
    expect(new Set(snapshots).size).toBe(1);
  });

  it('serves the last snapshot when the database is gone', async () => {
    const e = exporter();
    await e.refresh();
    const before = JSON.stringify([...e.depthByQueue()]);
    const broken = new QueueStatsExporter({
      executeSql: async () => {
        throw new Error('connection refused');
      },
      registry: createMetricsRegistry('test'),
      logger: db.logger,
      intervalSeconds: 1,
      queues: TASK_NAMES,
    });
    await expect(broken.refresh()).resolves.toBeUndefined();
    expect(JSON.stringify([...e.depthByQueue()])).toBe(before);
  });
});
