/**
 * Request id (accept a sane `X-Request-Id`, else generate one; echo it back), a child logger that
 * carries it, one access-log line per request (method, route template, status, duration — never
 * payloads or keys), and the HTTP metrics.
 */
import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { Logger } from '@taskfleet/core';
import type { AppEnv } from '../env.ts';
import type { ApiMetrics } from '../metrics.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(logger: Logger, metrics: ApiMetrics) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    // The child logger is built on first use: most requests never log below the access line.
    let child: Logger | undefined;
    const log = () => {
      child ??= logger.child({ requestId });
      return child;
    };
    c.set('requestId', requestId);
    c.set('log', log);
    metrics.inFlight.inc();
    try {
      await next();
    } finally {
      metrics.inFlight.dec();
      c.header('x-request-id', requestId);
      const route = c.req.routePath && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched';
      const seconds = (performance.now() - started) / 1000;
      const status = c.res.status;
      metrics.requests.inc({ method: c.req.method, route, status: String(status) });
      metrics.duration.observe({ method: c.req.method, route }, seconds);
      const line = { method: c.req.method, route, status, ms: Math.round(seconds * 10000) / 10 };
      if (status >= 500) log().warn(line, 'request');
      else if (route.startsWith('/v1/')) {
        if (logger.isLevelEnabled('info')) log().info(line, 'request');
      } else if (logger.isLevelEnabled('debug')) log().debug(line, 'request');
    }
  });
}
