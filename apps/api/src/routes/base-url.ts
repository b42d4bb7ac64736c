/** Scheme and host for the URLs the API answers with: API_PUBLIC_URL when set, else the request's own. */
import type { Config } from '@taskfleet/core';
import type { Context } from 'hono';

/** Request URL prefix → its origin; bounded (Host headers are the client's to choose). */
const origins = new Map<string, string>();

export function baseUrl(c: Context, config: Config): string {
  if (config.api.publicUrl) return config.api.publicUrl.replace(/\/$/, '');
  const href = c.req.url;
  // The origin is everything before the path; parse each distinct one once.
  const prefix = href.slice(0, href.indexOf('/', href.indexOf('//') + 2) >>> 0);
  let origin = origins.get(prefix);
  if (origin === undefined) {
    origin = new URL(href).origin;
    if (origins.size >= 1000) origins.clear();
    origins.set(prefix, origin);
  }
  return origin;
}
