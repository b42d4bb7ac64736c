/**
 * The balancer config compose ships (deploy/haproxy/haproxy.cfg), checked by Debian's real HAProxy:
 * `haproxy -c` on the file as shipped, then HAProxy running that file — with Docker's DNS discovery
 * swapped for two local API processes — in front of a rolling restart under load. Clients talking
 * only to the balancer see nothing but 202s: /readyz takes a draining replica out, and its refused
 * connections and 503s are retried on the other one. Every acknowledged task is in the database.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/embedded-postgres.ts';
import { auditLedger, createLedgerTable, LOAD_TEST_ENV, startLoad } from '../test-support/chaos.ts';
import { useTestDatabase } from '../test-support/database.ts';
import { type AppProcess, ROOT, spawnApp, stopProcess, waitReady } from '../test-support/processes.ts';

const HAPROXY = '/usr/sbin/haproxy';
const CONFIG = path.join(ROOT, 'deploy/haproxy/haproxy.cfg');
const db = useTestDatabase();
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

function requireHaproxy(): void {
  if (!existsSync(HAPROXY))
    throw new Error(`${HAPROXY} is missing: install Debian's haproxy package (apt-get install -y haproxy), as .ci/run does`);
}

describe('deploy/haproxy/haproxy.cfg', () => {
  it('is valid as shipped', () => {
    requireHaproxy();
    expect(execFileSync(HAPROXY, ['-c', '-f', CONFIG], { encoding: 'utf8' })).toMatch(/Configuration file is valid/);
  });

  it('keeps clients whole through a rolling restart of the API replicas', { timeout: 120_000 }, async () => {
    requireHaproxy();
    await createLedgerTable(db.query);
    const env = { ...LOAD_TEST_ENV, DATABASE_URL: db.url, API_AUTH: 'disabled' };
    const ports = [await freePort(), await freePort()];
    const apis: AppProcess[] = [];
    const startApi = async (i: number) => {
      const app = await spawnApp('api', env, ports[i]);
      await waitReady(app);
      apis[i] = app;
    };
    await startApi(0);
    await startApi(1);
    cleanup.push(() => Promise.all(apis.map((a) => stopProcess(a))));

    // The shipped file, with Docker's DNS discovery replaced by the two local replicas.
    const lbPort = await freePort();
    const shipped = await readFile(CONFIG, 'utf8');
    expect(shipped).toMatch(/^ {2}server-template api 10 api:8080 .*$/m);
    const local = shipped
      .replace(/^ {2}server-template api 10 api:8080 .*$/m, ports.map((p, i) => `  server api${i} 127.0.0.1:${p}`).join('\n'))
      .replace(/^ {2}bind :8080$/m, `  bind 127.0.0.1:${lbPort}`)
      .replace(/^ {2}bind :8404$/m, `  bind 127.0.0.1:${await freePort()}`)
      .replace(/^resolvers docker\n(?: {2}.*\n)+/m, '');
    const dir = await mkdtemp(path.join(tmpdir(), 'tf-haproxy-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(path.join(dir, 'haproxy.cfg'), local);
    const lb = spawn(HAPROXY, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let lbErr = '';
    lb.stderr.on('data', (c) => (lbErr += c));
    const lbExit = new Promise((r) => lb.on('exit', r));
    cleanup.push(async () => {
      lb.kill('SIGTERM');
      await lbExit;
    });
    const lbUrl = `http://127.0.0.1:${lbPort}`;
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`${lbUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    expect(lb.exitCode, `HAProxy exited:\n${lbErr}`).toBeNull();
    expect(
      await fetch(`${lbUrl}/readyz`).then(
        (r) => r.status,
        () => 0,
      ),
      lbErr,
    ).toBe(200);
    const load = startLoad({ urls: () => [lbUrl], concurrency: 8, pauseMs: 2 });
    for (const i of [0, 1, 0, 1]) {
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await stopProcess(apis[i] as AppProcess)).toBe(0);
      await startApi(i); // same port: the balancer's health check brings it back
      await new Promise((r) => setTimeout(r, 1_500)); // rise 2 × fastinter before the next roll
    }
    const report = await load.stop();
    expect(report.failures, lbErr).toEqual([]);
    expect(report.statuses).toEqual({ 202: report.acked.size });
    expect(report.acked.size).toBeGreaterThan(1_000);
    const audit = await auditLedger(db.query, [...report.acked.keys()]); // no worker: rows only
    expect(audit.lost).toEqual([]);
    console.log(`[haproxy] 4 replica restarts behind HAProxy: ${report.acked.size} requests, every one 202`);
  });
});
