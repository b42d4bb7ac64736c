/**
 * `npm start`: the whole fleet on one machine, each part its own OS process like in production.
 * Database (embedded PostgreSQL under .data/ unless DATABASE_URL / DATABASE_SHARDS is set:
 * EMBEDDED_PG_SHARDS primaries with EMBEDDED_PG_READ_REPLICAS streaming replicas each) → migrations
 * on every shard's primary → the API and WORKER_REPLICAS workers, given the shard map. Logs are prefixed by process; a crashed child is reported and restarted
 * with backoff; Ctrl-C drains every child, then stops the database. A second Ctrl-C kills at once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { applyMigrationsToShards, ConfigError, type Config, createLogger, loadConfig, redactUrl, shardMapEnv } from '@taskfleet/core';
import { localDatabase } from './lib/database.ts';
import { nodeEnvFor, nodeFlagsFor } from './lib/node-flags.ts';

const ROOT = new URL('../', import.meta.url).pathname;

interface ChildSpec {
  name: string;
  script: string;
  env: Record<string, string>;
  /** Health URL that answers 200 when the child is ready. */
  readyUrl: string;
}

interface Supervised {
  spec: ChildSpec;
  process: ChildProcess | undefined;
  restarts: number;
  startedAt: number;
  exited: Promise<void>;
}

let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}
const logger = createLogger({ role: 'supervisor', config });
const tty = process.stdout.isTTY === true;
const childLogFormat = config.log.format === 'auto' && tty ? 'pretty' : config.log.format;

const db = await localDatabase(config, logger, { replicas: true });
let stopping = false;
db.exited.then((code) => {
  if (!stopping) {
    logger.fatal({ code }, 'embedded PostgreSQL exited unexpectedly; stopping the fleet');
    void shutdown('postgres-exit', 1);
  }
});

try {
  for (const result of await applyMigrationsToShards(config, logger, db.shards))
    logger.info(
      { ...(db.shards.length > 1 ? { shard: result.shard } : {}), applied: result.applied, alreadyApplied: result.alreadyApplied },
      'migrations done',
    );
} catch (err) {
  logger.fatal({ err }, 'migrations failed');
  await db.stop();
  process.exit(1);
}

const specs: ChildSpec[] = [
  {
    name: 'api',
    script: 'apps/api/src/main.ts',
    // No balancer in front of the local fleet: nothing to wait for on Ctrl-C.
    env: { API_SHUTDOWN_DELAY_MS: process.env.API_SHUTDOWN_DELAY_MS || '0' },
    readyUrl: `http://127.0.0.1:${config.api.port}/readyz`,
  },
  ...Array.from({ length: config.worker.replicas }, (_, i) => ({
    name: `worker-${i + 1}`,
    script: 'apps/worker/src/main.ts',
    env: { WORKER_PORT: String(config.worker.port + i), WORKER_ID: `worker-${i + 1}` },
    readyUrl: `http://127.0.0.1:${config.worker.port + i}/readyz`,
  })),
];
// Local development on the embedded database runs without API keys unless asked otherwise; with
// DATABASE_URL (a real deployment's database) authentication stays on unless API_AUTH says so.
const authEnv: Record<string, string> = db.embedded && !process.env.API_AUTH ? { API_AUTH: 'disabled' } : {};
// The shard map goes to the children whole (shardMapEnv), never partly from the supervisor's own env.
const { DATABASE_SHARDS: _shards, DATABASE_READ_URLS: _reads, ...inherited } = process.env;
const width = Math.max(...specs.map((s) => s.name.length));
const children = new Map<string, Supervised>();

function pipeLines(stream: NodeJS.ReadableStream | null, name: string, out: NodeJS.WritableStream): void {
  if (!stream) return;
  const prefix = `${name.padEnd(width)} | `;
  createInterface({ input: stream }).on('line', (line) => out.write(prefix + line + '\n'));
}

function launch(child: Supervised): void {
  const { spec } = child;
  const proc = spawn(process.execPath, [...nodeFlagsFor(spec.script), spec.script], {
    cwd: ROOT,
    // Own process group: a terminal's Ctrl-C reaches the supervisor only, which then drains children
    // in order. The IPC channel makes a child drain and exit if the supervisor dies.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...inherited, ...nodeEnvFor(spec.script), ...shardMapEnv(db.shards), LOG_FORMAT: childLogFormat, ...authEnv, ...spec.env },
  });
  child.process = proc;
  child.startedAt = Date.now();
  pipeLines(proc.stdout, spec.name, process.stdout);
  pipeLines(proc.stderr, spec.name, process.stderr);
  child.exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      child.process = undefined;
      resolve();
      if (stopping) return;
      const upFor = Date.now() - child.startedAt;
      if (upFor > 60_000) child.restarts = 0;
      const delay = Math.min(30_000, 1000 * 2 ** child.restarts);
      child.restarts++;
      logger.error({ child: spec.name, code, signal, upForMs: upFor, restartInMs: delay }, `${spec.name} exited unexpectedly; restarting`);
      setTimeout(() => {
        if (!stopping) launch(child);
      }, delay).unref();
    });
  });
}

async function waitReady(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** The banner's database lines: one server as before; with shards, each primary and its replicas. */
function databaseLines(): string[] {
  const where = db.embedded ? `embedded PostgreSQL, data in ${config.embedded.dataDir}` : '';
  const [home] = db.shards;
  if (db.shards.length === 1 && home?.readUrls.length === 0)
    return [`  database  ${where ? `${where} (${redactUrl(db.url)})` : redactUrl(db.url)}`];
  return [
    `  database  ${where ? `${where}…, ` : ''}${db.shards.length} shard(s)`,
    ...db.shards.map(
      (s) => `    shard ${s.id}  ${redactUrl(s.url)}${s.readUrls.length ? `  replicas ${s.readUrls.map(redactUrl).join(', ')}` : ''}`,
    ),
  ];
}

let shuttingDown: Promise<void> | undefined;
function shutdown(reason: string, exitCode = 0): Promise<void> {
  shuttingDown ??= (async () => {
    stopping = true;
    logger.info({ reason }, 'stopping the fleet: draining children');
    const graceMs = (config.worker.shutdownGraceSeconds + 15) * 1000;
    for (const child of children.values()) child.process?.kill('SIGTERM');
    const all = Promise.all([...children.values()].map((c) => c.exited));
    const timer = setTimeout(() => {
      logger.warn('children did not stop in time; killing them');
      for (const child of children.values()) child.process?.kill('SIGKILL');
    }, graceMs);
    await all;
    clearTimeout(timer);
    await db.stop();
    logger.info('fleet stopped');
    process.exit(exitCode);
  })();
  return shuttingDown;
}

let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signals++;
    if (signals > 1) {
      logger.warn('second signal: killing children now');
      for (const child of children.values()) child.process?.kill('SIGKILL');
      void db.stop().then(() => process.exit(130));
      return;
    }
    void shutdown(signal);
  });
}

for (const spec of specs) {
  const child: Supervised = { spec, process: undefined, restarts: 0, startedAt: 0, exited: Promise.resolve() };
  children.set(spec.name, child);
  launch(child);
}

const ready = await Promise.all(specs.map((s) => waitReady(s.readyUrl, 60_000)));
if (!stopping) {
  const api = `http://127.0.0.1:${config.api.port}`;
  const lines = [
    '',
    ready.every(Boolean) ? 'taskfleet is running' : 'taskfleet started, but some processes are not ready yet (see logs above)',
    `  API       ${api}`,
    `  docs      ${api}/docs   (OpenAPI: ${api}/openapi.json)`,
    `  metrics   ${api}/metrics${specs
      .slice(1)
      .map((s) => `, ${s.readyUrl.replace('/readyz', '/metrics')}`)
      .join('')}`,
    `  auth      ${authEnv.API_AUTH === 'disabled' ? 'disabled (embedded database, local development; set API_AUTH=required to test keys)' : config.api.auth}`,
    ...databaseLines(),
    '  try it:',
    `    curl -s -X POST ${api}/v1/queues/noop/tasks -H 'content-type: application/json' -d '{"payload":{"echo":"hello"}}'`,
    '  Ctrl-C drains and stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
