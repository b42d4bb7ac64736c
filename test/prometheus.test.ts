/**
 * The alert rules and the exposition, checked with the real Prometheus tools (Debian's `prometheus`
 * package; .ci/run installs it), and a real Prometheus scraping a running API and worker whose
 * queue series must match the database.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoss, createMetricsRegistry, startBoss, startServer } from '@taskfleet/core';
import { freePort } from '../scripts/lib/embedded-postgres.ts';
import { startTestApi, type TestApi } from '../test-support/api.ts';
import { useTestDatabase } from '../test-support/database.ts';
import { enqueue } from '../test-support/enqueue.ts';
import { createWorker } from '@taskfleet/worker';

const ROOT = path.resolve(import.meta.dirname, '..');
const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';

function requireTool(bin: string): void {
  if (!existsSync(bin))
    throw new Error(`${bin} is missing: install Debian's prometheus package (apt-get install -y prometheus), as .ci/run does`);
}

describe('alert rules (promtool)', () => {
  it('are valid and pass their unit tests', () => {
    requireTool(PROMTOOL);
    const check = spawnSync(PROMTOOL, ['check', 'rules', 'deploy/prometheus/alerts.yml'], { cwd: ROOT, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = spawnSync(PROMTOOL, ['test', 'rules', 'deploy/prometheus/alerts.test.yml'], { cwd: ROOT, encoding: 'utf8' });
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/SUCCESS/);
  });

  it('accepts the compose Prometheus config (rule path pointed at the repo file)', async () => {
    requireTool(PROMTOOL);
    const { readFileSync } = await import('node:fs');
    const tmp = await mkdtemp(path.join(tmpdir(), 'tf-promcfg-'));
    try {
      const config = readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8').replace(
        '/etc/prometheus/alerts.yml',
        path.join(ROOT, 'deploy/prometheus/alerts.yml'),
      );
      await writeFile(path.join(tmp, 'prometheus.yml'), config);
      const res = spawnSync(PROMTOOL, ['check', 'config', path.join(tmp, 'prometheus.yml')], { encoding: 'utf8' });
      expect(res.status, res.stdout + res.stderr).toBe(0);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('has a runbook section for every alert', async () => {
    const { readFileSync } = await import('node:fs');
    const rules = readFileSync(path.join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8');
    const runbook = readFileSync(path.join(ROOT, 'docs/runbook.md'), 'utf8');
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1] as string);
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    for (const alert of alerts) {
      expect(runbook, alert).toContain(`## ${alert}`);
      expect(rules, alert).toContain(`docs/runbook.md#${alert.toLowerCase()}`);
    }
  });
});

const db = useTestDatabase();
let api: TestApi;
let worker: ReturnType<typeof createWorker>;
let workerBoss: Awaited<ReturnType<typeof startBoss>>;
let servers: { close(): Promise<void>; port: number }[] = [];
let prometheus: ChildProcess | undefined;
let dir = '';

beforeAll(async () => {
  api = await startTestApi(db, { QUEUE_STATS_INTERVAL_SECONDS: '1' });
  const config = db.config({ QUEUE_STATS_INTERVAL_SECONDS: '1', WORKER_QUEUES: 'noop' });
  workerBoss = await startBoss(
    createBoss({ config, role: 'worker', logger: db.logger, max: 10, supervise: false, listen: false }),
    db.logger,
  );
  worker = createWorker({ config, boss: workerBoss, logger: db.logger, metrics: createMetricsRegistry('worker') });
  await worker.start();
  servers = [
    await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'api-http' }),
    await startServer(worker.http, { host: '127.0.0.1', port: 0, name: 'worker-http' }),
  ];
});

afterAll(async () => {
  prometheus?.kill('SIGKILL');
  for (const s of servers) await s.close(1000);
  await worker?.stop(1);
  await workerBoss?.stop({ graceful: false, close: true });
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Prometheus scraping a running API and worker', () => {
  it('exposes metrics promtool accepts', async () => {
    requireTool(PROMTOOL);
    for (const s of servers) {
      const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
      const res = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // Exit 1 = unparseable exposition. Exit 3 = lint findings: the only ones allowed are prom-client's
      // own default Node.js gauges named *_total, which taskfleet does not define.
      expect(res.status, res.stdout + res.stderr).not.toBe(1);
      const findings = (res.stdout + res.stderr)
        .split('\n')
        .filter(
          (l) =>
            l.trim() &&
            !/^taskfleet_nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(
              l.trim(),
            ),
        );
      expect(findings).toEqual([]);
    }
  });

  it('scrapes queue series that match the database', { timeout: 60_000 }, async () => {
    requireTool(PROMETHEUS);
    // Ready work nobody drains (the worker only serves noop), and scheduled noop work.
    await enqueue(
      db,
      'http.request',
      Array.from({ length: 7 }, () => ({ payload: { url: 'https://example.com' } })),
    );
    await enqueue(
      db,
      'noop',
      Array.from({ length: 4 }, () => ({ delaySeconds: 3600 })),
    );
    await enqueue(
      db,
      'noop',
      Array.from({ length: 5 }, () => ({})),
    );
    dir = await mkdtemp(path.join(tmpdir(), 'tf-prom-'));
    await chmod(dir, 0o755);
    const promPort = await freePort();
    await writeFile(
      path.join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [' + JSON.stringify(path.join(ROOT, 'deploy/prometheus/alerts.yml')) + ']',
        'scrape_configs:',
        `  - { job_name: taskfleet-api, static_configs: [ { targets: ["127.0.0.1:${servers[0]?.port}"] } ] }`,
        `  - { job_name: taskfleet-worker, static_configs: [ { targets: ["127.0.0.1:${servers[1]?.port}"] } ] }`,
      ].join('\n'),
    );
    execFileSync(PROMTOOL, ['check', 'config', path.join(dir, 'prometheus.yml')]);
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data.result;
    };
    const deadline = Date.now() + 45_000;
    let ready = -1;
    let scheduled = -1;
    let upCount = 0;
    let completedSeen = 0;
    while (Date.now() < deadline) {
      try {
        upCount = (await query('sum(up{job=~"taskfleet.*"})')).map((r) => Number(r.value[1]))[0] ?? 0;
        ready = Number((await query('max by (queue) (taskfleet_queue_depth{queue="http.request",state="ready"})'))[0]?.value[1] ?? -1);
        scheduled = Number((await query('max by (queue) (taskfleet_queue_depth{queue="noop",state="scheduled"})'))[0]?.value[1] ?? -1);
        completedSeen = Number((await query('sum(taskfleet_jobs_completed_total{queue="noop"})'))[0]?.value[1] ?? 0);
        if (upCount === 2 && ready === 7 && scheduled === 4 && completedSeen === 5) break;
      } catch {
        // Prometheus still starting
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const { rows } = await db.query<{ ready: number; scheduled: number }>(`
      SELECT count(*) FILTER (WHERE name = 'http.request' AND state = 'created' AND start_after <= now())::int AS ready,
             count(*) FILTER (WHERE name = 'noop' AND state = 'created' AND start_after > now())::int AS scheduled
      FROM pgboss.job`);
    expect(upCount).toBe(2);
    expect(ready).toBe(rows[0]?.ready);
    expect(scheduled).toBe(rows[0]?.scheduled);
    // The five ready noop tasks were drained by the worker, and Prometheus saw them complete.
    expect(completedSeen).toBe(5);
  });
});
