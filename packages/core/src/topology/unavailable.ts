/**
 * Whether an error means "the database did not answer" (down, restarting, refusing sessions,
 * unreachable) rather than "the statement failed": the API answers the first with 503 +
 * Retry-After, and a shard whose primary is unreachable at start-up is opened anyway and retried.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; severity?: string } | undefined;
  const code = e?.code ?? '';
  if (/^(08|57P|53)/.test(code)) return true; // connection exception, admin shutdown, insufficient resources
  if (e?.severity === 'FATAL') return true; // the server refused the session (e.g. not accepting connections)
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|Database not opened|pool is ending|Cannot use a pool after calling end/i.test(
    e?.message ?? '',
  );
}
