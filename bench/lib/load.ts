/** HTTP load with autocannon (a real load generator, in this process; the servers run in their own). */
import autocannon from 'autocannon';
import { progress } from './progress.ts';

export interface LoadResult {
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

export async function load(opts: {
  url: string;
  path: string;
  body: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const done = progress(`POST ${opts.path} × ${opts.connections} connections`, opts.seconds);
  const result = await Promise.resolve(
    autocannon({
      url: opts.url + opts.path,
      method: 'POST',
      connections: opts.connections,
      duration: opts.seconds,
      body: opts.body,
      headers: { 'content-type': 'application/json', ...opts.headers },
      timeout: 10,
    }),
  ).finally(done);
  return {
    connections: opts.connections,
    seconds: opts.seconds,
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
