/**
 * Queue gauges over two shards (two databases on the test server, migrated from the template): the
 * exported figures are the sums over the shards, each shard's snapshot computed there under its
 * own refresh claim; a shard whose refresh fails keeps its last known figures in the sums and is
 * marked stale.
 */
import {
  createBoss,
  createLogger,
  createMetricsRegistry,
  type ExecutePrepared,
  type ExecuteSql,
  executorOf,
  insertTasks,
  loadConfig,
  PRIORITIES,
  QueueStatsExporter,
  startBoss,
  TASK_NAMES,
  uuidv7,
} from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../../test-support/database.ts';

const logger = createLogger({ role: 'test', config: loadConfig({ LOG_LEVEL: 'silent' }), destination: process.stderr });
const dbs: Awaited<ReturnType<typeof createDatabase>>[] = [];
const bosses: PgBoss[] = [];

beforeAll(async () => {
  dbs.push(await createDatabase(), await createDatabase());
  for (const db of dbs) {
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url });
    bosses.push(await startBoss(createBoss({ config, role: 'test', logger, max: 2, supervise: false, listen: false }), logger));
  }
});
afterAll(async () => {
  for (const boss of bosses) await boss.stop({ graceful: false, close: true });
  for (const db of dbs) await db.drop();
});

async function insert(executeSql: ExecutePrepared, n: number, priority: keyof typeof PRIORITIES = 'normal'): Promise<void> {
  const rows = Array.from({ length: n }, () => ({
    id: uuidv7(),
    data: { payload: {}, meta: { submitter: null } },
    priority: PRIORITIES[priority],
  }));
  await insertTasks(executeSql, 'noop', rows, () => undefined);
}

const gauge = (text: string, series: string): number => {
  const escaped = series.replace(/[{}".]/g, (c) => `\\${c}`);
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`no series ${series} in:\n${text}`);
  return Number(match[1]);
};

describe('queue gauges over two shards', () => {
  it('export the sums over the shards; a shard that stops answering keeps its last figures and is marked stale', async () => {
    const [e0, e1] = bosses.map(executorOf) as [ExecutePrepared, ExecutePrepared];
    await insert(e0, 3, 'low');
    await insert(e1, 2, 'low');
    await insert(e1, 1, 'critical');
    let down = false;
    const flaky: ExecuteSql = (text, values) => (down ? Promise.reject(new Error('connection refused')) : e1(text, values));
    const registry = createMetricsRegistry('test');
    const exporter = new QueueStatsExporter({
      shards: [
        { id: 0, executeSql: e0 },
        { id: 1, executeSql: flaky },
      ],
      registry,
      logger,
      intervalSeconds: 0.2,
      queues: TASK_NAMES,
    });
    await exporter.refresh();
    expect(exporter.computations).toBe(2); // one snapshot per shard, each under that shard's claim
    let text = await registry.metrics();
    expect(gauge(text, 'taskfleet_queue_depth{queue="noop",state="ready",role="test"}')).toBe(6);
    expect(gauge(text, 'taskfleet_queue_ready{queue="noop",priority="low",role="test"}')).toBe(5);
    expect(gauge(text, 'taskfleet_queue_ready{queue="noop",priority="critical",role="test"}')).toBe(1);
    expect(gauge(text, 'taskfleet_queue_stats_stale{shard="0",role="test"}')).toBe(0);
    expect(gauge(text, 'taskfleet_queue_stats_stale{shard="1",role="test"}')).toBe(0);
    expect(exporter.depthByQueue().get('noop')?.ready).toBe(6);
    expect(exporter.snapshot.rows.length).toBeGreaterThanOrEqual(3);

    // A second replica over the same shards computes nothing within the interval: it reads the snapshots.
    const replica = new QueueStatsExporter({
      shards: [
        { id: 0, executeSql: e0 },
        { id: 1, executeSql: e1 },
      ],
      registry: createMetricsRegistry('test'),
      logger,
      intervalSeconds: 60,
      queues: TASK_NAMES,
    });
    await replica.refresh();
    expect(replica.computations).toBe(0);
    expect(replica.depthByQueue().get('noop')?.ready).toBe(6);

    down = true;
    await insert(e0, 4);
    await new Promise((r) => setTimeout(r, 250)); // the interval has passed: the snapshots are due
    await exporter.refresh();
    text = await registry.metrics();
    // Shard 0's new snapshot (7) plus shard 1's last known figures (3).
    expect(gauge(text, 'taskfleet_queue_depth{queue="noop",state="ready",role="test"}')).toBe(10);
    expect(gauge(text, 'taskfleet_queue_stats_stale{shard="0",role="test"}')).toBe(0);
    expect(gauge(text, 'taskfleet_queue_stats_stale{shard="1",role="test"}')).toBe(1);
    // The age of the sums is the stalest shard's.
    expect(gauge(text, 'taskfleet_queue_stats_age_seconds{role="test"}')).toBeGreaterThanOrEqual(0.25);

    down = false;
    await exporter.refresh();
    text = await registry.metrics();
    expect(gauge(text, 'taskfleet_queue_stats_stale{shard="1",role="test"}')).toBe(0);
    expect(gauge(text, 'taskfleet_queue_depth{queue="noop",state="ready",role="test"}')).toBe(10);
  });

  it('keeps the one-database shape: `executeSql` alone, no per-shard series', async () => {
    const registry = createMetricsRegistry('test');
    const exporter = new QueueStatsExporter({
      executeSql: executorOf(bosses[0] as PgBoss),
      registry,
      logger,
      intervalSeconds: 60,
      queues: TASK_NAMES,
    });
    await exporter.refresh();
    const text = await registry.metrics();
    expect(text).toMatch(/taskfleet_queue_depth\{queue="noop",state="ready",role="test"\} \d+/);
    expect(text).not.toMatch(/taskfleet_queue_stats_stale\{/);
  });
});
