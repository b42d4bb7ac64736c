/**
 * The fleet-wide per-host limits of `http.request` (HTTP_REQUEST_HOST_CONCURRENCY,
 * HTTP_REQUEST_HOST_RATE_PER_SECOND), taken before each request and shared by every replica and
 * queue through the store (store/http-hosts.ts). A request that finds its host at the limit waits
 * in its slot for a short while (the next free lease or the rate's next start); past that it is
 * put back unrun (DeferredError: no attempt used) so a slow or saturated receiver does not hold
 * the worker's slots for long.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireHostSlot, type ExecuteSql, type HostLimits, releaseHostSlot } from '@taskfleet/core';
import { DeferredError } from '../errors.ts';

/** Longest a request waits in its slot for its host before it is put back. */
const MAX_WAIT_MS = 5_000;
/** Kept past the attempt's deadline before a lease of a dead replica expires by itself. */
const LEASE_MARGIN_SECONDS = 30;

export interface HostGate {
  /** Wait for a slot to `host`; resolves to its release. Throws DeferredError, or the signal's reason. */
  enter(host: string, holder: string, deadline: Date, signal: AbortSignal): Promise<() => Promise<void>>;
}

const noRelease = async () => undefined;

export function createHostGate(limits: HostLimits, executeSql: ExecuteSql): HostGate | undefined {
  if (limits.concurrency === null && limits.ratePerSecond === null) return undefined;
  return {
    async enter(host, holder, deadline, signal) {
      const started = Date.now();
      const maxWait = Math.min(MAX_WAIT_MS, deadline.getTime() - started - 1_000);
      const leaseSeconds = (deadline.getTime() - started) / 1000 + LEASE_MARGIN_SECONDS;
      let backoff = 20;
      for (;;) {
        signal.throwIfAborted();
        const slot = await acquireHostSlot(executeSql, host, holder, limits, leaseSeconds);
        if (slot.taken) return limits.concurrency === null ? noRelease : () => releaseHostSlot(executeSql, host, holder);
        // At the concurrency limit nobody knows when a lease ends: look again with a growing, jittered pause.
        const wait = slot.retryAfterMs ?? backoff * (0.5 + Math.random());
        backoff = Math.min(backoff * 2, 500);
        if (Date.now() - started + wait > maxWait) {
          const retryAfterSeconds = (slot.retryAfterMs ?? 500 + Math.random() * 1_500) / 1000;
          throw new DeferredError('http_host', `${host} is at its fleet-wide request limit; put back unrun`, retryAfterSeconds);
        }
        await sleep(wait, undefined, { signal });
      }
    },
  };
}
