/**
 * Request id (accept a sane `X-Request-Id`, else generate one; echo it back), a child logger that
 * carries it, one access-log line per request (method, route template, status, duration — never
 * payloads or keys), and the HTTP metrics.
 */
import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { Logger } from '@taskfleet/core';
import type { AppEnv } from '../env.ts';
import { presetResponseHeader, requestHeader } from '../headers.ts';
import type { ApiMetrics } from '../metrics.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(logger: Logger, metrics: ApiMetrics) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    const given = requestHeader(c, 'x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    // Echoed on whatever response this request ends with; set before it exists (see headers.ts).
    const echoed = presetResponseHeader(c, 'x-request-id', requestId);
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
      if (!echoed) c.header('x-request-id', requestId);
      const routePath = c.req.routePath;
      const route = routePath && routePath !== '/*' ? routePath : 'unmatched';
      const seconds = (performance.now() - started) / 1000;
      const status = c.res.status;
      const method = c.req.method;
      metrics.observeRequest(method, route, status, seconds);
      const line = { method, route, status, ms: Math.round(seconds * 10000) / 10 };
      if (status >= 500) log().warn(line, 'request');
      else if (route.startsWith('/v1/')) {
        if (logger.isLevelEnabled('info')) log().info(line, 'request');
      } else if (logger.isLevelEnabled('debug')) log().debug(line, 'request');
    }
  });
}
