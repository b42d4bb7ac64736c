/**
 * The API's one Hono environment: what the middleware puts on the context for the handlers after it.
 * Every `new Hono<AppEnv>()` and `createMiddleware<AppEnv>` in apps/api uses it, so `c.get`/`c.set`
 * are typed.
 */
import type { Logger } from '@taskfleet/core';
import type { Principal } from './enqueue/build.ts';

export type AppEnv = {
  Variables: {
    /** The request's id (from a sane `X-Request-Id`, else generated); set by `requestContext`. */
    requestId: string;
    /** The request's child logger, built on first call; set by `requestContext`. */
    log: () => Logger;
    /** The authenticated API key (or the anonymous admin); set by `authenticate` on /v1/*. */
    principal: Principal;
  };
};
