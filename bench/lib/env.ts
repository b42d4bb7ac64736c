/** What every benchmark needs: a database (embedded in a temp dir unless DATABASE_URL is set), processes, machine facts. */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { applyMigrations, createLogger, loadConfig } from '@taskfleet/core';
import { freePort, startEmbeddedPostgres } from '../../scripts/lib/embedded-postgres.ts';
import { APP_NODE_FLAGS } from '../../scripts/lib/node-flags.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface BenchDatabase {
  url: string;
  serverVersion: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** A fresh, migrated database. Durable settings (fsync on): the figures are what production gets. */
export async function benchDatabase(): Promise<BenchDatabase> {
  const quiet = createLogger({ role: 'bench', config: loadConfig({ LOG_LEVEL: 'warn' }), destination: process.stderr });
  let adminUrl = process.env.DATABASE_URL;
  let stopServer = async () => {};
  let dir: string | undefined;
  if (!adminUrl) {
    dir = await mkdtemp(path.join(os.tmpdir(), 'taskfleet-bench-'));
    await chmod(dir, 0o755);
    const server = await startEmbeddedPostgres({
      dataDir: path.join(dir, 'pg'),
      port: await freePort(),
      settings: { max_connections: 300, ...(process.env.BENCH_PGSS ? { shared_preload_libraries: 'pg_stat_statements' } : {}) },
    });
    adminUrl = server.url;
    stopServer = () => server.stop();
  }
  const name = `taskfleet_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await applyMigrations(loadConfig({ DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' }), quiet);
  return {
    url: url.toString(),
    serverVersion: version,
    embedded: !process.env.DATABASE_URL,
    async stop() {
      const c = new pg.Client(adminUrl);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      await stopServer();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Proc {
  url: string;
  child: ChildProcess;
  /** Resident set size in MB, read from /proc. */
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

/** Every child still running is killed when the benchmark exits, even on a crash. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export async function startProcess(script: string, env: Record<string, string>, readyPath = '/readyz'): Promise<Proc> {
  const port = await freePort();
  const flags = script.startsWith('apps/') ? APP_NODE_FLAGS : [];
  const child = spawn(process.execPath, [...flags, script], {
    cwd: ROOT,
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      PORT: String(port),
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      WORKER_PORT: String(port),
      WORKER_HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', process.env.BENCH_CHILD_LOGS ? 'inherit' : 'ignore', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    try {
      if ((await fetch(url + readyPath)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${script} did not become ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    async rssMb() {
      const { readFile } = await import('node:fs/promises');
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

/**
 * CPU seconds (user + system) used so far by every PostgreSQL process on the machine, from /proc.
 * The difference across a measurement is the database's cost of it (other idle clusters add noise
 * in the millisecond range).
 */
export async function postgresCpuSeconds(): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  let ticks = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // the process exited while we looked
    }
  }
  return ticks / 100; // USER_HZ
}

export function machineFacts() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** Full runs write bench/results/ (committed, BENCHMARKS.md cites them); --quick writes bench/results/quick/. */
export function resultsDir(): string {
  return path.join(ROOT, 'bench', 'results', ...(process.env.TASKFLEET_BENCH_QUICK === '1' ? ['quick'] : []));
}

export async function writeResult(name: string, data: unknown): Promise<string> {
  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
