/**
 * replica-reads: status-read throughput with a streaming replica against without one, same run, same
 * data. An embedded topology of one primary and one real streaming replica (scripts/lib/
 * embedded-topology.ts; fsync on), `tasks` noop tasks written on the primary and replayed on the
 * replica; then the API process (apps/api/src/main.ts) is started once per variant — `primary`:
 * DATABASE_URL only; `replica`: the topology's DATABASE_URL and DATABASE_READ_URLS — and loaded with
 * `GET /v1/tasks/{id}` over the existing ids (autocannon, `connections`, `seconds` after a warm-up).
 * Recorded per variant: req/s, latency percentiles, CPU per request of the API process and of
 * each PostgreSQL server (its own process tree), each server's committed transactions per request
 * (pg_stat_database.xact_commit), and the API's own count of reads by target
 * (taskfleet_db_reads_total) when it exports one. Variants alternate round by round. Embedded servers only (a stock server cannot be given a
 * replica here); DATABASE_URL is ignored.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyMigrationsToShards, createLogger, loadConfig } from '@taskfleet/core';
import autocannon from 'autocannon';
import { type EmbeddedTopology, freePortRange, startEmbeddedTopology } from '../../scripts/lib/embedded-topology.ts';
import { machineFacts, type Proc, processCpuSeconds, startProcess, writeResult } from '../lib/env.ts';
import { prefill, withClient } from '../lib/jobs.ts';
import { progress } from '../lib/progress.ts';
import { serverCpu } from '../lib/server-cpu.ts';

export interface ReplicaReadsOptions {
  /** Tasks written before the reads (the ids the load cycles through). */
  tasks: number;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Rounds; each measures both variants, in alternating order. */
  repeats: number;
}

type Log = (line: string) => void;
type Variant = 'primary' | 'replica';

export interface ReadRun {
  variant: Variant;
  path: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  requests: number;
  /** CPU microseconds per request: each PostgreSQL server's, and the API process's. */
  cpuUsPerRequest: { primary: number; replica: number; api: number };
  /** Committed transactions per request (warm-up and window, API start and stop included), by server (pg_stat_database). */
  xactsPerRequest: { primary: number; replica: number };
  /** The API's reads by target during the run (taskfleet_db_reads_total), when it exports them. */
  readsByTarget: Record<string, number> | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Committed transactions of the current database (the statistics snapshot cleared first). */
const xacts = (url: string) =>
  withClient(url, async (c) => {
    await c.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await c.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
    return Number(rows[0]?.n ?? 0);
  });

/** The replica has replayed everything the primary has written so far. */
async function caughtUp(primary: string, replica: string, log: Log): Promise<void> {
  const lsn = await withClient(primary, async (c) => (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]?.l);
  for (const deadline = Date.now() + 120_000; ; ) {
    const behind = await withClient(replica, async (c) => {
      const { rows } = await c.query<{ b: string }>('SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS b', [lsn]);
      return Number(rows[0]?.b ?? 0);
    });
    if (behind <= 0) return;
    if (Date.now() > deadline) throw new Error(`the replica is still ${behind} bytes behind`);
    log(`  replica ${behind} bytes behind; waiting`);
    await sleep(500);
  }
}

/** taskfleet_db_reads_total by target from the API's /metrics (null when it has none). */
async function readsByTarget(api: Proc): Promise<Record<string, number> | null> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^taskfleet_db_reads_total\{([^}]*)\} (\S+)$/gm)) {
    const target = /target="([^"]+)"/.exec(m[1] as string)?.[1] ?? '?';
    out[target] = (out[target] ?? 0) + Number(m[2]);
  }
  return Object.keys(out).length ? out : null;
}

/**
 * The status path: `/v1/tasks/{id}` (the id names its shard), or `/v1/queues/noop/tasks/{id}` on an
 * API without that route (a build from before it).
 */
async function statusPath(api: Proc, id: string, log: Log): Promise<string> {
  const res = await fetch(`${api.url}/v1/tasks/${id}`);
  await res.text();
  if (res.ok) return '/v1/tasks/';
  const other = await fetch(`${api.url}/v1/queues/noop/tasks/${id}`);
  await other.text();
  if (!other.ok) throw new Error(`status reads answer ${res.status} and ${other.status}`);
  log(`  GET /v1/tasks/{id} answered ${res.status}: loading GET /v1/queues/noop/tasks/{id} instead`);
  return '/v1/queues/noop/tasks/';
}

function getLoad(url: string, prefix: string, ids: string[], connections: number, seconds: number) {
  let i = 0;
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${prefix}${ids[i++ % ids.length]}` }) }],
  });
  return Promise.resolve(instance);
}

const diff = (a: Record<string, number> | null, b: Record<string, number> | null) =>
  b ? Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a?.[k] ?? 0)])) : null;

/**
 * One variant: start the API with its environment, warm up, measure, stop. Transactions are counted
 * from before the API starts to after it has stopped (a backend's statistics are certain to be
 * flushed only when it exits), over the warm-up's and the window's requests together.
 */
async function measure(topology: EmbeddedTopology, variant: Variant, ids: string[], opts: ReplicaReadsOptions, log: Log): Promise<ReadRun> {
  const shard = topology.shards[0] as EmbeddedTopology['shards'][0];
  const replica = shard.replicas[0] as (typeof shard.replicas)[0];
  const env = variant === 'replica' ? topology.env() : { DATABASE_URL: shard.primary.url, DATABASE_READ_URLS: '' };
  const [primaryCpu, replicaCpu] = await Promise.all([serverCpu(shard.primary.url), serverCpu(replica.url)]);
  const xactsBefore = { p: await xacts(shard.primary.url), r: await xacts(replica.url) };
  const api = await startProcess('apps/api/src/main.ts', {
    ...env,
    DATABASE_SHARDS: '',
    API_AUTH: 'disabled',
    API_RATE_LIMIT_PER_SECOND: '0',
  });
  let run: Omit<ReadRun, 'xactsPerRequest'>;
  let served = 0;
  try {
    const prefix = await statusPath(api, ids[0] as string, log);
    if (opts.warmupSeconds > 0) served += (await getLoad(api.url, prefix, ids, opts.connections, opts.warmupSeconds)).requests.total;
    const before = {
      p: await primaryCpu(),
      r: await replicaCpu(),
      a: await processCpuSeconds(api.child.pid),
      reads: await readsByTarget(api),
    };
    const done = progress(`GET ${prefix}{id} × ${opts.connections} connections, ${variant}`, opts.seconds);
    const r = await getLoad(api.url, prefix, ids, opts.connections, opts.seconds).finally(done);
    const after = {
      p: await primaryCpu(),
      r: await replicaCpu(),
      a: await processCpuSeconds(api.child.pid),
      reads: await readsByTarget(api),
    };
    served += r.requests.total;
    const us = (s: number) => Math.round((s * 1e6) / Math.max(1, r.requests.total));
    run = {
      variant,
      path: `GET ${prefix}{id}`,
      rps: Math.round(r.requests.average),
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors,
      requests: r.requests.total,
      cpuUsPerRequest: { primary: us(after.p - before.p), replica: us(after.r - before.r), api: us(after.a - before.a) },
      readsByTarget: diff(before.reads, after.reads),
    };
  } finally {
    await api.stop();
  }
  await sleep(1100); // the exited backends' statistics reach pg_stat_database
  const per = (n: number) => Math.round((n / Math.max(1, served)) * 100) / 100;
  return {
    ...run,
    xactsPerRequest: {
      primary: per((await xacts(shard.primary.url)) - xactsBefore.p),
      replica: per((await xacts(replica.url)) - xactsBefore.r),
    },
  };
}

/** The topology, migrated, with `tasks` noop tasks written and replayed; returns their ids. */
async function prepare(dir: string, opts: ReplicaReadsOptions, log: Log): Promise<{ topology: EmbeddedTopology; ids: string[] }> {
  const topology = await startEmbeddedTopology({
    baseDir: path.join(dir, 'pg'),
    basePort: await freePortRange(2),
    shards: 1,
    replicasPerShard: 1,
    settings: { max_connections: 300 },
  });
  try {
    const config = loadConfig({ ...topology.env(), LOG_LEVEL: 'warn' });
    await applyMigrationsToShards(config, createLogger({ role: 'bench', config, destination: process.stderr }));
    const shard = topology.shards[0] as EmbeddedTopology['shards'][0];
    await prefill(shard.primary.url, 'noop', opts.tasks);
    const ids = await withClient(shard.primary.url, async (c) =>
      (await c.query<{ id: string }>(`SELECT id FROM pgboss.job WHERE name = 'noop' ORDER BY random()`)).rows.map((r) => r.id),
    );
    await caughtUp(shard.primary.url, (shard.replicas[0] as (typeof shard.replicas)[0]).url, log);
    return { topology, ids };
  } catch (err) {
    await topology.stop();
    throw err;
  }
}

export async function runReplicaReads(opts: ReplicaReadsOptions, log: Log) {
  if (process.env.DATABASE_URL) log('replica-reads: DATABASE_URL is ignored (this scenario starts its own primary and replica)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'taskfleet-bench-replica-'));
  await chmod(dir, 0o755); // the servers run as the postgres user when we are root
  const runs: ReadRun[] = [];
  try {
    const { topology, ids } = await prepare(dir, opts, log);
    try {
      log(`replica-reads: ${ids.length.toLocaleString('en-US')} tasks on a primary with one streaming replica`);
      for (let round = 1; round <= opts.repeats; round++) {
        for (const variant of (round % 2 ? ['primary', 'replica'] : ['replica', 'primary']) as Variant[]) {
          const run = await measure(topology, variant, ids, opts, log);
          runs.push(run);
          log(
            `  round ${round}, ${variant === 'replica' ? 'with the replica' : 'primary only'}: ${run.rps} req/s, p99 ${run.p99} ms, non-2xx ${run.non2xx}; CPU µs/request: PostgreSQL primary ${run.cpuUsPerRequest.primary}, replica ${run.cpuUsPerRequest.replica}, API ${run.cpuUsPerRequest.api}; transactions/request primary ${run.xactsPerRequest.primary}, replica ${run.xactsPerRequest.replica}; API reads by target ${JSON.stringify(run.readsByTarget)}`,
          );
        }
      }
    } finally {
      await topology.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await report(opts, runs);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function report(opts: ReplicaReadsOptions, runs: ReadRun[]) {
  const of = (v: Variant) => runs.filter((r) => r.variant === v);
  const sum = (v: Variant) => ({
    rps: median(of(v).map((r) => r.rps)),
    p99: median(of(v).map((r) => r.p99)),
    primaryCpuUsPerRequest: median(of(v).map((r) => r.cpuUsPerRequest.primary)),
    replicaCpuUsPerRequest: median(of(v).map((r) => r.cpuUsPerRequest.replica)),
    apiCpuUsPerRequest: median(of(v).map((r) => r.cpuUsPerRequest.api)),
    primaryXactsPerRequest: median(of(v).map((r) => r.xactsPerRequest.primary)),
    non2xx: of(v).reduce((a, r) => a + r.non2xx + r.errors, 0),
  });
  const primary = sum('primary');
  const replica = sum('replica');
  const file = await writeResult('replica-reads', {
    scenario: 'replica-reads',
    date: new Date().toISOString(),
    machine: machineFacts(),
    options: opts,
    path: runs[0]?.path,
    primary,
    replica,
    ratio: { rps: replica.rps / primary.rps, primaryCpu: replica.primaryCpuUsPerRequest / (primary.primaryCpuUsPerRequest || Number.NaN) },
    runs,
  });
  console.table([
    { what: 'req/s (median)', 'primary only': primary.rps, 'with replica': replica.rps },
    { what: 'p99 ms (median)', 'primary only': primary.p99, 'with replica': replica.p99 },
    {
      what: "primary's PostgreSQL CPU µs/request",
      'primary only': primary.primaryCpuUsPerRequest,
      'with replica': replica.primaryCpuUsPerRequest,
    },
    {
      what: "replica's PostgreSQL CPU µs/request",
      'primary only': primary.replicaCpuUsPerRequest,
      'with replica': replica.replicaCpuUsPerRequest,
    },
    {
      what: "primary's transactions/request",
      'primary only': primary.primaryXactsPerRequest,
      'with replica': replica.primaryXactsPerRequest,
    },
    { what: 'non-2xx + errors (all runs)', 'primary only': primary.non2xx, 'with replica': replica.non2xx },
  ]);
  console.log(`results: ${file}`);
}
