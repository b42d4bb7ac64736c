/**
 * partitions: what a queue's own table (`partition: true`) changes for draining it, against the
 * same queue in the shared table `pgboss.job_common`, in the same run, on every server `benchServers`
 * gives (the embedded PostgreSQL and, when one answers, the stock external server). Two measurements:
 *
 * - neighbour: queue A (`drain` no-op jobs, filled just before) drained by one worker process while
 *   the busy queue B sits beside it in job_common with `neighbourBacklog` queued and a steady churn
 *   of `neighbourRate` jobs/s (ingested by this process, drained by a second worker at a queue rate
 *   limit of the same value, so B's backlog and load stay level and equal for both layouts). The
 *   layouts alternate round by round on one database, against the same B. Time: A's first claim to
 *   its last completion (PostgreSQL's clock); PostgreSQL CPU includes B's churn (the same in both).
 * - deep: A alone with `deepBacklog` queued (1,000,000 in a full run), each layout on a fresh
 *   database; completions per second over a `seconds` window after `warmupSeconds`, and the
 *   PostgreSQL CPU of that window.
 *
 * The task types come from bench/tasks/partitions.ts (TASK_MODULES): A is `bench.shared` or
 * `bench.own`, B is `bench.busy`.
 */
import { benchServers, machineFacts, type BenchServer, serverLabel, writeResult } from '../lib/env.ts';
import type { Stat } from '../lib/stats.ts';
import { type DeepRun, deep, type Layout, type Log, neighbour, type PartitionsOptions } from './partitions-runs.ts';

export type { PartitionsOptions };

export interface ServerPartitions {
  server: string;
  kind: BenchServer['kind'];
  version: string;
  neighbour: { shared: Stat; own: Stat; ownVsShared: number; neighbourJobsPerSecond: Record<Layout, number[]> };
  deep?: { shared: DeepRun; own: DeepRun; ownVsShared: number };
}

async function onServer(server: BenchServer, opts: PartitionsOptions, log: Log): Promise<ServerPartitions> {
  const n = await neighbour(server, opts, log);
  const result: ServerPartitions = {
    server: serverLabel(server),
    kind: server.kind,
    version: server.version,
    neighbour: {
      shared: n.shared,
      own: n.own,
      ownVsShared: n.own.median / n.shared.median,
      neighbourJobsPerSecond: n.neighbourJobsPerSecond,
    },
  };
  if (opts.deepBacklog > 0) {
    const shared = await deep(server, 'shared', opts, log);
    const own = await deep(server, 'own', opts, log);
    result.deep = { shared, own, ownVsShared: own.jobsPerSecond / shared.jobsPerSecond };
  }
  return result;
}

export async function runPartitions(opts: PartitionsOptions, log: Log) {
  const servers = await benchServers(log);
  const results: ServerPartitions[] = [];
  try {
    for (const server of servers) results.push(await onServer(server, opts, log));
  } finally {
    for (const s of servers) await s.stop();
  }
  const file = await writeResult('partitions', {
    scenario: 'partitions',
    date: new Date().toISOString(),
    machine: machineFacts(),
    options: opts,
    servers: results,
  });
  const f = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
  console.table(
    results.flatMap((r) => [
      {
        server: r.server,
        what: `A drained next to busy B (${opts.drain.toLocaleString('en-US')} jobs), jobs/s median (min–max)`,
        job_common: `${r.neighbour.shared.median} (${r.neighbour.shared.min}–${r.neighbour.shared.max})`,
        'own table': `${r.neighbour.own.median} (${r.neighbour.own.min}–${r.neighbour.own.max})`,
        'own ÷ shared': f(r.neighbour.ownVsShared),
      },
      {
        server: r.server,
        what: '  PostgreSQL CPU-s per 100k (incl. B)',
        job_common: r.neighbour.shared.postgresCpuPer100k,
        'own table': r.neighbour.own.postgresCpuPer100k,
        'own ÷ shared': '',
      },
      ...(r.deep
        ? [
            {
              server: r.server,
              what: `A with ${opts.deepBacklog.toLocaleString('en-US')} queued, jobs/s`,
              job_common: r.deep.shared.jobsPerSecond,
              'own table': r.deep.own.jobsPerSecond,
              'own ÷ shared': f(r.deep.ownVsShared),
            },
            {
              server: r.server,
              what: '  PostgreSQL CPU-s per 100k',
              job_common: r.deep.shared.postgresCpuPer100k,
              'own table': r.deep.own.postgresCpuPer100k,
              'own ÷ shared': '',
            },
          ]
        : []),
    ]),
  );
  console.log(`results: ${file}`);
}
