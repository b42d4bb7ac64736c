/**
 * Per-API-key token buckets, per replica. Fleet-wide the allowance is the per-replica limit times
 * the number of replicas behind the balancer: a shared counter would cost a database write (or
 * another service) per request, which is exactly the load group commit exists to avoid. Operators
 * size the limit per replica; the README says so.
 */
import { createMiddleware } from 'hono/factory';
import type { Config } from '@taskfleet/core';
import type { AppEnv } from '../env.ts';
import { problems } from '../problem.ts';
import { principalOf } from './auth.ts';

interface Bucket {
  tokens: number;
  updated: number;
}

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #burst: number;
  constructor(burst: number) {
    this.#burst = burst;
  }

  /** Take `cost` tokens; returns 0 when allowed, else the seconds until enough have refilled. */
  take(key: string, ratePerSecond: number, cost = 1, now = performance.now()): number {
    const capacity = Math.max(this.#burst, cost);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size > 100_000) this.#buckets.clear();
      bucket = { tokens: capacity, updated: now };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updated) / 1000) * ratePerSecond);
    bucket.updated = now;
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return (cost - bucket.tokens) / ratePerSecond;
  }
}

export function rateLimit(config: Config, onLimited: () => void) {
  const buckets = new TokenBuckets(config.api.rateLimit.burst);
  return createMiddleware<AppEnv>((c, next) => {
    const principal = principalOf(c);
    const rate = principal.rateLimitPerSecond ?? config.api.rateLimit.perSecond;
    if (rate > 0) {
      const wait = buckets.take(principal.id ?? 'anonymous', rate);
      if (wait > 0) {
        onLimited();
        throw problems.rateLimited(Math.max(1, Math.ceil(wait)));
      }
    }
    return next();
  });
}
