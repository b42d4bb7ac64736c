/**
 * Bearer API keys, verified against taskfleet.api_keys (hash compared in constant time) and cached
 * per replica for API_KEY_CACHE_SECONDS, so a hot key costs no database round trip. With
 * API_AUTH=disabled every request acts as an anonymous admin (local development only; refused in
 * production by the config).
 */
import type { ExecuteSql } from '@taskfleet/core';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { type ApiKeyScope, type Config, touchApiKey, verifyApiKey } from '@taskfleet/core';
import type { Principal } from '../enqueue/build.ts';
import type { AppEnv } from '../env.ts';
import { requestHeader } from '../headers.ts';
import { problems } from '../problem.ts';

export const ANONYMOUS: Principal = { id: null, name: 'anonymous', scopes: ['admin'], rateLimitPerSecond: null };
const TOUCH_INTERVAL_MS = 60_000;

export function authenticate(config: Config, executeSql: ExecuteSql) {
  const cache = new Map<string, { principal: Principal; expires: number }>();
  const touched = new Map<string, number>();
  const ttl = config.api.keyCacheSeconds * 1000;
  /** The principal for a valid Authorization header, from the cache or the database. */
  async function resolve(header: string | undefined, now: number): Promise<Principal> {
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw problems.unauthorized('Send an API key as `Authorization: Bearer <key>`.');
    const row = await verifyApiKey(executeSql, match[1] as string);
    if (!row) throw problems.unauthorized('The API key is invalid or has been revoked.');
    const principal: Principal = { id: row.id, name: row.name, scopes: row.scopes, rateLimitPerSecond: row.rateLimitPerSecond };
    if (ttl > 0) {
      if (cache.size > 10_000) cache.clear();
      cache.set(header as string, { principal, expires: now + ttl });
    }
    return principal;
  }

  function admit(c: Context<AppEnv>, principal: Principal, now: number): void {
    const id = principal.id as string;
    if ((touched.get(id) ?? 0) + TOUCH_INTERVAL_MS < now) {
      touched.set(id, now);
      void touchApiKey(executeSql, id).catch(() => undefined);
    }
    c.set('principal', principal);
  }

  return createMiddleware<AppEnv>((c, next) => {
    if (config.api.auth === 'disabled') {
      c.set('principal', ANONYMOUS);
      return next();
    }
    // Keyed by the Authorization header as sent (the key is in this process's memory with the
    // request anyway): a cached key costs one map lookup — no parsing, no hashing, no promise.
    const header = requestHeader(c, 'authorization');
    const now = Date.now();
    const cached = header === undefined ? undefined : cache.get(header);
    if (cached && cached.expires > now) {
      admit(c, cached.principal, now);
      return next();
    }
    return resolve(header, now).then((principal) => {
      admit(c, principal, now);
      return next();
    });
  });
}

export function principalOf(c: Context<AppEnv>): Principal {
  return c.get('principal');
}

export function hasScope(principal: Principal, ...scopes: ApiKeyScope[]): boolean {
  return principal.scopes.includes('admin') || scopes.some((s) => principal.scopes.includes(s));
}

export function requireScope(c: Context<AppEnv>, ...scopes: ApiKeyScope[]): Principal {
  const principal = principalOf(c);
  if (!hasScope(principal, ...scopes)) throw problems.forbidden(`This API key needs the ${scopes.join(' or ')} scope.`);
  return principal;
}

/** May this principal see a task submitted by `submitter`? (Others' tasks are simply not found.) */
export function canSee(principal: Principal, submitter: string | null | undefined): boolean {
  return hasScope(principal, 'read') || (submitter ?? null) === principal.id;
}

export function canModify(principal: Principal, submitter: string | null | undefined): boolean {
  return principal.scopes.includes('admin') || (principal.scopes.includes('submit') && (submitter ?? null) === principal.id);
}
