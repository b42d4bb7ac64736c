/**
 * `http.request`: deliver the task's JSON body to its URL.
 * - 2xx: done; the status, content type and a bounded excerpt of the response become the output.
 * - 5xx, 408, 429 (honouring Retry-After), timeouts and network errors: retried with backoff.
 * - 3xx (redirects are not followed: they could lead to a blocked address) and other 4xx: permanent.
 * Every connection goes through the SSRF guard (ssrf.ts). Deliveries carry `Idempotency-Key: <task
 * id>` because delivery is at-least-once, and an HMAC signature when a secret is configured.
 * With per-host limits configured, each request first takes a fleet-wide slot for its host (host-gate.ts).
 */
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { type Config, type ExecuteSql, httpRequestTask } from '@taskfleet/core';
import { Agent, fetch } from 'undici';
import { PermanentError, RetryableError } from '../errors.ts';
import { AllowList, BlockedTargetError, isBlockedAddress } from '../ssrf.ts';
import { createHostGate } from './host-gate.ts';
import { defineHandler, type HandlerEntry } from './types.ts';

export const SIGNATURE_HEADER = 'x-taskfleet-signature';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` — receivers recompute and compare. */
export function signature(secret: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${nowSeconds}.${body}`).digest('hex');
  return `t=${nowSeconds},v1=${mac}`;
}

/** Retry-After as seconds (delta-seconds or an HTTP date), bounded to a day. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Math.ceil((Date.parse(value) - now) / 1000);
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(86_400, Math.max(0, seconds));
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup that refuses blocked addresses: undici calls it for every new connection. */
function guardedLookup(allow: AllowList) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        if (isBlockedAddress(a.address) && !allow.allows(hostname, a.address))
          return callback(new BlockedTargetError(hostname, a.address), []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

async function excerpt(body: ReadableStream<Uint8Array> | null, max: number): Promise<{ text: string; truncated: boolean }> {
  if (!body) return { text: '', truncated: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > max) {
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  const text = Buffer.concat(chunks).subarray(0, max).toString('utf8');
  return { text, truncated };
}

export function createHttpRequestHandler(config: Config, executeSql?: ExecuteSql): HandlerEntry & { close(): Promise<void> } {
  const allow = new AllowList(config.httpRequest.allowedHosts);
  const agent = new Agent({ connect: { lookup: guardedLookup(allow) as never }, keepAliveTimeout: 10_000, connections: 256 });
  const max = config.httpRequest.maxResponseBytes;
  const gate = executeSql ? createHostGate(config.httpRequest.host, executeSql) : undefined;
  const entry = defineHandler(httpRequestTask, async (payload, ctx) => {
    const url = new URL(payload.url);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    // Literal IPs never reach the lookup hook.
    if (isIP(host) && isBlockedAddress(host) && !allow.allows(host, host))
      throw new PermanentError(new BlockedTargetError(host, host).message);
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
      return await deliver(url, payload.method, headers, body, ctx.signal);
    } finally {
      await release?.();
    }
  });

  async function deliver(url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal) {
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal,
        redirect: 'manual',
        dispatcher: agent,
      });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof BlockedTargetError) throw new PermanentError(cause.message);
      throw err; // network errors and aborts: retry
    }
    const { text, truncated } = await excerpt(res.body, max);
    const output = { status: res.status, contentType: res.headers.get('content-type'), body: text, truncated };
    if (res.status >= 200 && res.status < 300) return output;
    const details = { status: res.status, body: text.slice(0, 500) };
    if (res.status === 429 || res.status === 408 || res.status >= 500) {
      const retryAfterSeconds = parseRetryAfter(res.headers.get('retry-after'));
      throw new RetryableError(`receiver answered ${res.status}`, {
        details,
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      });
    }
    if (res.status >= 300 && res.status < 400)
      throw new PermanentError(`receiver answered ${res.status} (redirects are not followed)`, details);
    throw new PermanentError(`receiver answered ${res.status}`, details);
  }
  return { ...entry, close: () => agent.close() };
}
