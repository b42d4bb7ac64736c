/** Scheme and host for the URLs the API answers with: API_PUBLIC_URL when set, else the request's own. */
import type { Config } from '@taskfleet/core';
import type { Context } from 'hono';

export function baseUrl(c: Context, config: Config): string {
  if (config.api.publicUrl) return config.api.publicUrl.replace(/\/$/, '');
  const url = new URL(c.req.url);
  return `${url.protocol}//${url.host}`;
}
