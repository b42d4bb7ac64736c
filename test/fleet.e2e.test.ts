/**
 * `npm start` end to end: the supervisor starts an embedded PostgreSQL in a temp dir, migrates,
 * runs the API and a worker as separate processes, restarts a crashed child, stops cleanly on
 * SIGINT, and reuses the data on the next start.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/embedded-postgres.ts';
import { SCRIPTS, spawnScript } from '../test-support/processes.ts';

const startFleet = (env: Record<string, string>) => spawnScript(SCRIPTS.start, { DATABASE_URL: '', ...env });

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('npm start (the local fleet)', () => {
  it('runs, restarts a crashed worker, stops cleanly on SIGINT and reuses the data', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tf-fleet-'));
    await chmod(dir, 0o755);
    dirs.push(dir);
    const env = {
      EMBEDDED_PG_DIR: path.join(dir, 'pg'),
      EMBEDDED_PG_PORT: String(await freePort()),
      API_PORT: String(await freePort()),
      API_HOST: '127.0.0.1',
      WORKER_HOST: '127.0.0.1',
      WORKER_PORT: String(await freePort()),
      WORKER_REPLICAS: '1',
    };

    const first = startFleet(env);
    try {
      await first.waitFor(/taskfleet is running/, 60_000);
      expect(first.output()).toMatch(/embedded PostgreSQL created and started/);
      expect(first.output()).toMatch(/applied migration/);
      // Children's lines are piped through the supervisor and may trail its banner.
      await first.waitFor(/^api +\| /m, 10_000);
      await first.waitFor(/^worker-1 \| /m, 10_000);
      expect(first.output()).toMatch(/curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/queues\/noop\/tasks/);
      const ready = await fetch(`http://127.0.0.1:${env.API_PORT}/readyz`);
      expect(ready.status).toBe(200);

      // The curl line it prints works: the task is accepted (no key needed on the embedded
      // database) and a worker process runs it.
      const accepted = await fetch(`http://127.0.0.1:${env.API_PORT}/v1/queues/noop/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payload: { echo: 'hello' } }),
      });
      expect(accepted.status).toBe(202);
      const { statusUrl } = (await accepted.json()) as { statusUrl: string };
      let task: { state: string; output: unknown } = { state: '', output: null };
      for (let i = 0; i < 100 && task.state !== 'completed'; i++) {
        task = (await (await fetch(statusUrl)).json()) as typeof task;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(task).toMatchObject({ state: 'completed', output: { echo: 'hello' } });

      // A crashed worker is reported and restarted.
      const pid = Number(/"role":"worker","pid":(\d+)/.exec(first.output())?.[1]);
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGKILL');
      await first.waitFor(/worker-1 exited unexpectedly; restarting/);
      await first.waitFor(new RegExp(`"role":"worker","pid":(?!${pid})\\d+.*worker running`), 30_000);
    } finally {
      first.proc.kill('SIGINT');
    }
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/fleet stopped/);

    const second = startFleet(env);
    try {
      await second.waitFor(/taskfleet is running/, 60_000);
      expect(second.output()).toMatch(/reusing data/);
      expect(second.output()).not.toMatch(/applied migration/);
    } finally {
      second.proc.kill('SIGINT');
    }
    expect(await second.exited).toBe(0);
  });

  it('stops at once, naming the variable, when the configuration is bad', async () => {
    for (const script of Object.values(SCRIPTS)) {
      const child = spawnScript(script, { WORKER_CONCURRENCY: 'abc', DATABASE_URL: 'postgres://127.0.0.1:1/x' });
      expect(await child.exited, script).toBe(1);
      expect(child.output(), script).toMatch(/WORKER_CONCURRENCY="abc" is invalid: expected an integer from 1 to 10000/);
    }
  });
});
