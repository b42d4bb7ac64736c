/**
 * Database outage: a PostgreSQL started by this test goes down hard (immediate shutdown, crash
 * recovery on restart) for ~10 s while an API and two workers take load and drain. While it is down
 * the API answers 503 + Retry-After quickly (no hangs, no 500s) and /readyz is red; no process exits;
 * after it returns, every acknowledged task — before, during and after the outage — is processed.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations, createLogger, loadConfig } from '@taskfleet/core';
import { type EmbeddedPostgres, freePort, startEmbeddedPostgres } from '../../scripts/lib/embedded-postgres.ts';
import { createLedgerTable, drained, Fleet, LEDGER_MODULE, startLoad } from '../../test-support/chaos.ts';

const OUTAGE_MS = 10_000;
let server: EmbeddedPostgres | undefined;
let fleet: Fleet | undefined;
let dir: string | undefined;
let pool: pg.Pool | undefined;

afterAll(async () => {
  await fleet?.stop();
  await pool?.end();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const status = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    async (r) => {
      await r.body?.cancel();
      return r.status;
    },
    () => 0,
  );

describe('database outage', () => {
  it('answers 503 while PostgreSQL is down, recovers by itself and loses nothing', { timeout: 180_000 }, async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tf-outage-'));
    await chmod(dir, 0o755);
    const dataDir = path.join(dir, 'data');
    const port = await freePort();
    const start = () => startEmbeddedPostgres({ dataDir, port, settings: { autovacuum_naptime: '1s' } });
    server = await start();
    const env = { DATABASE_URL: server.url, LOG_LEVEL: 'silent', TASK_MODULES: LEDGER_MODULE };
    const config = loadConfig(env);
    await applyMigrations(config, createLogger({ role: 'test', config }));
    pool = new pg.Pool({ connectionString: server.url, max: 2 });
    pool.on('error', () => {});
    const query = (text: string, values?: unknown[]) => (pool as pg.Pool).query(text, values);
    await createLedgerTable(query);

    const f = new Fleet({
      DATABASE_URL: server.url,
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      WORKER_CONCURRENCY: '16',
      WORKER_MAINTENANCE_INTERVAL_SECONDS: '1',
      WORKER_POLL_INTERVAL_MS: '200',
    });
    fleet = f;
    const api = await f.addApi();
    const workers = [await f.addWorker(), await f.addWorker()];
    const load = startLoad({ urls: () => f.apiUrls(), concurrency: 4, pauseMs: 5, payload: (key) => ({ key, sleepMs: 100 }) });
    await new Promise((r) => setTimeout(r, 3_000));
    const ackedBefore = [...load.report.acked.keys()];
    expect(ackedBefore.length).toBeGreaterThan(100);

    // Down hard: immediate shutdown, as a crash would leave it.
    const downAt = Date.now();
    server.process.kill('SIGQUIT');
    await server.exited;
    await new Promise((r) => setTimeout(r, 1_500));
    const readyDuring = await status(`${api.url}/readyz`);
    const workerReadyDuring = await Promise.all(workers.map((w) => status(`${w.url}/readyz`)));
    const healthDuring = await status(`${api.url}/healthz`);
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - downAt)));
    server = await start();
    const upAt = Date.now();
    expect(server.created).toBe(false);

    await new Promise((r) => setTimeout(r, 5_000));
    const report = await load.stop();
    const during = report.samples.filter((s) => s.at > downAt + 500 && s.at < upAt - 500);

    expect(readyDuring).toBe(503);
    expect(workerReadyDuring).toEqual([503, 503]);
    expect(healthDuring).toBe(200); // alive: nothing to restart
    // While down: 503s with Retry-After (counted by the client), answered quickly — no hangs, no 500s.
    expect(during.length).toBeGreaterThan(20);
    expect(during.filter((s) => s.status !== 503)).toEqual([]);
    expect(Math.max(...during.map((s) => s.ms))).toBeLessThan(5_000);
    expect(report.failures).toEqual([]);
    expect(report.retryAfter).toBeGreaterThanOrEqual(during.length);
    expect(Object.keys(report.statuses).filter((s) => Number(s) >= 500 && s !== '503')).toEqual([]);

    const ids = [...report.acked.keys()];
    const audit = await drained(query, ids, 90_000);
    expect(audit.lost).toEqual([]);
    expect(audit.unfinished).toEqual([]);
    expect(audit.completed).toBe(ids.length);
    // A re-run is a job whose completion the outage cut off: its earlier run began before the outage.
    for (const { id, runs } of audit.reruns) {
      for (const run of runs.slice(0, -1)) expect(run.at.getTime(), `task ${id}`).toBeLessThanOrEqual(downAt + 1_000);
    }
    for (const id of ackedBefore) expect(report.acked.has(id)).toBe(true);
    expect(f.unexpectedExits()).toEqual([]);
    for (const w of workers) expect(w.proc.exitCode).toBeNull();
    expect(api.proc.exitCode).toBeNull();
    console.log(
      `[db-outage] ${ids.length} acknowledged (${ackedBefore.length} before the outage), all completed; ` +
        `${during.length} requests during the outage, all 503 (slowest ${Math.max(...during.map((s) => s.ms))} ms); ` +
        `${audit.reruns.length} re-run; statuses ${JSON.stringify(report.statuses)}`,
    );
  });
});
