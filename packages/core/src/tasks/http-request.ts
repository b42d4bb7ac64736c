import { z } from 'zod';
import { defineTask } from './define.ts';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the worker sets itself; a task may not override them. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'x-taskfleet-signature']);

/**
 * Deliver a JSON body to a URL: the general-purpose task that lets a service use the fleet without
 * writing code. 2xx = done; 5xx, 429, timeouts and network errors = retry; other 4xx = permanent.
 */
export const httpRequestTask = defineTask({
  name: 'http.request',
  description: 'Deliver a JSON body to an HTTP(S) URL; retried on 5xx, 429, timeouts and network errors.',
  schema: z.strictObject({
    url: z.url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' }).max(2048),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    headers: z
      .record(
        z
          .string()
          .regex(HEADER_NAME, 'must be a valid HTTP header name')
          .max(256)
          .refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), 'is set by the worker and cannot be overridden'),
        z
          .string()
          .max(8192)
          .regex(/^[^\r\n\0]*$/, 'must not contain CR, LF or NUL'),
      )
      .refine((h) => Object.keys(h).length <= 50, 'at most 50 headers')
      .default({}),
    /** Any JSON value; sent as application/json. */
    body: z.json().optional(),
  }),
  defaults: { priority: 'normal', maxAttempts: 8, retryDelaySeconds: 10, timeoutSeconds: 30 },
});
