/** What every benchmark needs: a database (embedded in a temp dir unless DATABASE_URL is set), processes, machine facts. */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { applyMigrations, createLogger, loadConfig } from '@taskfleet/core';
import { freePort, startEmbeddedPostgres } from '../../scripts/lib/embedded-postgres.ts';
import { nodeEnvFor, nodeFlagsFor } from '../../scripts/lib/node-flags.ts';
import { withClient } from './jobs.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface BenchDatabase {
  url: string;
  serverVersion: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** A PostgreSQL server a benchmark creates its databases on. */
export interface BenchServer {
  /** 'embedded' (started here, settings ours), 'external' (a stock server we did not configure) or 'DATABASE_URL'. */
  kind: 'embedded' | 'external' | 'DATABASE_URL';
  adminUrl: string;
  version: string;
  /** Create a fresh database migrated for taskfleet (a copy of a migrated template: one file copy). */
  database(): Promise<{ url: string; drop(): Promise<void> }>;
  stop(): Promise<void>;
}

/** The stock server a full run also measures (`BENCH_EXTERNAL_DATABASE_URL`; `none` turns it off). */
export const EXTERNAL_DATABASE_URL = process.env.BENCH_EXTERNAL_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function openServer(kind: BenchServer['kind']): Promise<BenchServer> {
  const quiet = createLogger({ role: 'bench', config: loadConfig({ LOG_LEVEL: 'warn' }), destination: process.stderr });
  let adminUrl = kind === 'DATABASE_URL' ? (process.env.DATABASE_URL as string) : EXTERNAL_DATABASE_URL;
  let stopServer = async () => {};
  let dir: string | undefined;
  if (kind === 'embedded') {
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
  const stamp = `${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
  const template = `taskfleet_bench_tpl_${stamp}`;
  const admin = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => withClient(adminUrl, fn);
  const version = await admin(async (c) => {
    await c.query(`CREATE DATABASE ${template}`);
    return (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
  });
  const urlOf = (name: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  await applyMigrations(loadConfig({ DATABASE_URL: urlOf(template), LOG_LEVEL: 'warn' }), quiet);
  const drop = (name: string) => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  let copies = 0;
  return {
    kind,
    adminUrl,
    version,
    async database() {
      const name = `taskfleet_bench_${stamp}_${++copies}`;
      await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
      return { url: urlOf(name), drop: () => drop(name).then(() => undefined) };
    },
    async stop() {
      await drop(template);
      await stopServer();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The servers a scenario measures: the one `DATABASE_URL` names when it is set; otherwise the
 * embedded PostgreSQL (settings ours) and, when one answers, the stock external server — every
 * performance figure must hold on a server we did not configure.
 */
export async function benchServers(log: (line: string) => void): Promise<BenchServer[]> {
  if (process.env.DATABASE_URL) return [await openServer('DATABASE_URL')];
  const servers = [await openServer('embedded')];
  if (await externalServerFor(log)) servers.push(await openServer('external'));
  return servers;
}

/** A label for tables: `embedded PostgreSQL 18.4`. */
export function serverLabel(s: Pick<BenchServer, 'kind' | 'version'>): string {
  return `${s.kind === 'external' ? 'stock' : s.kind} PostgreSQL ${s.version.split(' ')[0]}`;
}

/** A fresh, migrated database. Durable settings (fsync on): the figures are what production gets. */
export async function benchDatabase(): Promise<BenchDatabase> {
  const server = await openServer(process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded');
  const db = await server.database();
  return {
    url: db.url,
    serverVersion: server.version,
    embedded: server.kind === 'embedded',
    async stop() {
      await db.drop();
      await server.stop();
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

export async function startProcess(
  script: string,
  env: Record<string, string>,
  readyPath = '/readyz',
  /** Extra node flags (e.g. `--cpu-prof`). */
  nodeFlags: string[] = [],
): Promise<Proc> {
  const port = await freePort();
  const flags = [...nodeFlagsFor(script), ...nodeFlags];
  const child = spawn(process.execPath, [...flags, script], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...nodeEnvFor(script),
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

/** A process's name and the CPU seconds (user + system) it has used, from /proc/<pid>/stat; undefined once it is gone. */
async function procStat(pid: number | string): Promise<{ name: string; cpuSeconds: number } | undefined> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // utime, stime: fields 14 and 15 of stat, in USER_HZ (100 per second)
  return { name: stat.slice(stat.indexOf('(') + 1, close), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}

/** CPU seconds a process has used (0 once it is gone). */
export async function processCpuSeconds(pid: number | undefined): Promise<number> {
  return pid ? ((await procStat(pid))?.cpuSeconds ?? 0) : 0;
}

/**
 * CPU seconds (user + system) used so far by every PostgreSQL process on the machine, from /proc.
 * The difference across a measurement is the database's cost of it (other idle clusters add noise
 * in the millisecond range).
 */
export async function postgresCpuSeconds(): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  let seconds = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await procStat(pid);
    if (stat?.name === 'postgres') seconds += stat.cpuSeconds;
  }
  return seconds;
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

/**
 * Full runs write bench/results/ (committed, BENCHMARKS.md cites them); --quick writes
 * bench/results/quick/; the second pass of a run on the stock external server writes a `stock/`
 * folder inside either.
 */
export function resultsDir(): string {
  return path.join(
    ROOT,
    'bench',
    'results',
    ...(process.env.TASKFLEET_BENCH_QUICK === '1' ? ['quick'] : []),
    ...(process.env.TASKFLEET_BENCH_SERVER === 'stock' ? ['stock'] : []),
  );
}

/** The stock external server's admin URL when a full run should measure it too (no DATABASE_URL, one answers). */
export async function externalServerFor(log: (line: string) => void): Promise<string | undefined> {
  if (process.env.DATABASE_URL) return undefined;
  if (EXTERNAL_DATABASE_URL === 'none') {
    log('external server: off (BENCH_EXTERNAL_DATABASE_URL=none)');
    return undefined;
  }
  if (await answers(EXTERNAL_DATABASE_URL)) return EXTERNAL_DATABASE_URL;
  log(`external server: nothing answers at ${EXTERNAL_DATABASE_URL} — measuring the embedded server only`);
  return undefined;
}

export async function writeResult(name: string, data: unknown): Promise<string> {
  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
