/**
 * A load run with its CPU cost per request, by process: the server under test (/proc), every
 * PostgreSQL process on the machine, and this process (autocannon runs in it).
 */
import { postgresCpuSeconds, type Proc, processCpuSeconds } from './env.ts';
import { type LoadResult, load } from './load.ts';

/** CPU microseconds per request during one measured run, by process. */
export interface CpuPerRequest {
  /** The server under test. */
  server: number;
  /**
   * Every PostgreSQL process on the machine; null when one exited during the run (its CPU leaves
   * the sum, e.g. the previous server's connections closing), which would understate it.
   */
  postgres: number | null;
  /** This process: autocannon. */
  loadGenerator: number;
}

/** A load run with the CPU each process spent on it. */
export type MeasuredLoad = LoadResult & { cpuUs: CpuPerRequest };

async function cpuNow(proc: Proc) {
  const own = process.cpuUsage();
  return { server: await processCpuSeconds(proc.child.pid), postgres: await postgresCpuSeconds(), self: (own.user + own.system) / 1e6 };
}

/** One load run against `proc`, with the CPU each process spent on it per request. */
export async function loadWithCpu(proc: Proc, opts: Parameters<typeof load>[0]): Promise<MeasuredLoad> {
  const before = await cpuNow(proc);
  const r = await load(opts);
  const after = await cpuNow(proc);
  const perRequest = (s: number) => Math.round((s * 1e6) / Math.max(1, r.requests));
  return {
    ...r,
    cpuUs: {
      server: perRequest(after.server - before.server),
      postgres: after.postgres >= before.postgres ? perRequest(after.postgres - before.postgres) : null,
      loadGenerator: perRequest(after.self - before.self),
    },
  };
}
