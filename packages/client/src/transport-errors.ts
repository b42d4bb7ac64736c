/**
 * What a failed connection means, in words: undici's `fetch failed` hides the cause one level down
 * (`err.cause.code`), so a user read "fetch failed" where "connection refused — is the API running?"
 * was known.
 */
const CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused — is the API running?',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host not found — check the URL',
  EAI_AGAIN: 'host name lookup failed (temporary) — check DNS and the URL',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed',
};

/** The innermost cause: its code when it has one, else its message (e.g. fetch's "bad port"). */
function rootCause(err: unknown): { code?: string; message: string } {
  let message = String((err as Error | undefined)?.message ?? err);
  for (
    let e = err as { code?: unknown; cause?: unknown; errors?: unknown[]; message?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (typeof e.code === 'string') return { code: e.code, message };
    if (typeof e.message === 'string' && e.message) message = e.message;
    // Happy-eyeballs connects (IPv4 and IPv6) fail with an AggregateError: the first one says why.
    if (Array.isArray(e.errors) && e.errors.length > 0) e = e.errors[0] as typeof e;
    else e = e.cause as typeof e;
  }
  return { message };
}

/** `could not connect to http://127.0.0.1:8080: connection refused — is the API running? (GET /v1/queues)` */
export function transportMessage(baseUrl: string, method: string, path: string, err: unknown): string {
  const name = (err as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError')
    return `${method} ${path}: no answer from ${baseUrl} in time (${(err as Error).message})`;
  const { code, message } = rootCause(err);
  const why = code ? (CAUSES[code] ?? code) : message;
  return `could not connect to ${baseUrl}: ${why} (${method} ${path})`;
}
