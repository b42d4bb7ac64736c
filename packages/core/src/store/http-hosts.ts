/**
 * Fleet-wide limits per receiving host for `http.request` (migration 000009): a lease per request
 * in flight (HTTP_REQUEST_HOST_CONCURRENCY) and a sliding log of the last second's starts
 * (HTTP_REQUEST_HOST_RATE_PER_SECOND), shared by every worker replica and every queue.
 */
import type { ExecuteSql } from './executor.ts';

export interface HostLimits {
  /** Requests in flight to one host across the fleet; null: unlimited. */
  concurrency: number | null;
  /** Requests started per second to one host across the fleet; null: unlimited. */
  ratePerSecond: number | null;
}

/** `taken`, or when to look again: `retryAfterMs` from the rate limit, null at the concurrency limit. */
export type HostSlot = { taken: true } | { taken: false; retryAfterMs: number | null };

export async function acquireHostSlot(
  executeSql: ExecuteSql,
  host: string,
  holder: string,
  limits: HostLimits,
  leaseSeconds: number,
): Promise<HostSlot> {
  const { rows } = await executeSql('SELECT taskfleet.acquire_http_host($1, $2, $3, $4, $5) AS wait_ms', [
    host,
    holder,
    limits.concurrency,
    limits.ratePerSecond,
    Math.ceil(leaseSeconds),
  ]);
  const waitMs = (rows[0] as { wait_ms: number | null }).wait_ms;
  return waitMs === 0 ? { taken: true } : { taken: false, retryAfterMs: waitMs };
}

/** End a request's lease (its slot is free for the next request to the host). */
export async function releaseHostSlot(executeSql: ExecuteSql, host: string, holder: string): Promise<void> {
  await executeSql('DELETE FROM taskfleet.http_host_leases WHERE host = $1 AND holder = $2', [host, holder]);
}
