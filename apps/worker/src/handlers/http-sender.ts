/**
 * The HTTP delivery shared by `http.request` and completion callbacks: one undici agent whose
 * connections go through the SSRF guard (ssrf.ts) in their own DNS lookup, literal IPs checked
 * before connecting, no redirects followed, a bounded excerpt of the answer kept, and the answer
 * classified — 2xx done; 5xx, 408, 429 (honouring Retry-After), timeouts and network errors
 * retried; 3xx and other 4xx permanent. Signing is {@link signature}.
 */
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { Config } from '@taskfleet/core';
import { Agent, fetch } from 'undici';
import { PermanentError, RetryableError } from '../errors.ts';
import { AllowList, BlockedTargetError, isBlockedAddress } from '../ssrf.ts';

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

/** What a delivered request answered (a task's output). */
export interface Delivered {
  status: number;
  contentType: string | null;
  body: string;
  truncated: boolean;
}

export interface HttpSender {
  /** Refuse a literal blocked IP before anything else (literal IPs never reach the lookup hook). */
  checkTarget(url: URL): void;
  send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<Delivered>;
  close(): Promise<void>;
}

export function createHttpSender(config: Config): HttpSender {
  const allow = new AllowList(config.httpRequest.allowedHosts);
  const agent = new Agent({ connect: { lookup: guardedLookup(allow) as never }, keepAliveTimeout: 10_000, connections: 256 });
  const max = config.httpRequest.maxResponseBytes;
  return {
    checkTarget(url) {
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      if (isIP(host) && isBlockedAddress(host) && !allow.allows(host, host))
        throw new PermanentError(new BlockedTargetError(host, host).message);
    },
    async send(url, method, headers, body, signal) {
      let res: Awaited<ReturnType<typeof fetch>>;
      try {
        res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal, redirect: 'manual', dispatcher: agent });
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
    },
    close: () => agent.close(),
  };
}
