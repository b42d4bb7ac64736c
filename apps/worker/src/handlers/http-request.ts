/**
 * `http.request`: deliver the task's JSON body to its URL.
 * - 2xx: done; the status, content type and a bounded excerpt of the response become the output.
 * - 5xx, 408, 429 (honouring Retry-After), timeouts and network errors: retried with backoff.
 * - 3xx (redirects are not followed: they could lead to a blocked address) and other 4xx: permanent.
 * Every connection goes through the SSRF guard (http-sender.ts, ssrf.ts). Deliveries carry
 * `Idempotency-Key: <task id>` because delivery is at-least-once, and an HMAC signature when a
 * secret is configured. With per-host limits configured, each request first takes a fleet-wide
 * slot for its host (host-gate.ts).
 */
import { type Config, type ExecuteSql, httpRequestTask } from '@taskfleet/core';
import { createHostGate } from './host-gate.ts';
import { createHttpSender, type HttpSender, SIGNATURE_HEADER, signature } from './http-sender.ts';
import { defineHandler, type HandlerEntry } from './types.ts';

export { parseRetryAfter, SIGNATURE_HEADER, signature } from './http-sender.ts';

/** `sender`: shared with the callback handler (one agent); made here when not given. */
export function createHttpRequestHandler(
  config: Config,
  executeSql?: ExecuteSql,
  sender: HttpSender = createHttpSender(config),
): HandlerEntry & { close(): Promise<void> } {
  const gate = executeSql ? createHostGate(config.httpRequest.host, executeSql) : undefined;
  const entry = defineHandler(httpRequestTask, async (payload, ctx) => {
    const url = new URL(payload.url);
    sender.checkTarget(url);
    const body = payload.body === undefined ? undefined : JSON.stringify(payload.body);
    const headers: Record<string, string> = {
      'user-agent': 'taskfleet/0.1 (+http.request)',
      'idempotency-key': ctx.jobId,
      'x-taskfleet-task-id': ctx.jobId,
      'x-taskfleet-attempt': String(ctx.attempt),
      ...payload.headers,
    };
    if (body !== undefined && !Object.keys(payload.headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    if (ctx.traceparent) headers.traceparent = ctx.traceparent;
    if (config.httpRequest.signingSecret) headers[SIGNATURE_HEADER] = signature(config.httpRequest.signingSecret, body ?? '');
    const release = gate ? await gate.enter(url.host, ctx.jobId, ctx.deadline, ctx.signal) : undefined;
    try {
      return await sender.send(url, payload.method, headers, body, ctx.signal);
    } finally {
      await release?.();
    }
  });
  return { ...entry, close: () => sender.close() };
}
