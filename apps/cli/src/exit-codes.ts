/**
 * Exit codes: 0 ok · 1 failed (server error, task ended badly with --wait) · 2 usage · 3 not found ·
 * 4 refused input (409/413/415/422) · 5 unavailable (429/503 after retries, connection failed) ·
 * 6 unauthorized/forbidden (401/403).
 */
import type { TaskfleetError } from '@taskfleet/client';

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, refused: 4, unavailable: 5, unauthorized: 6 } as const;

/** The exit code for an API error (after the client's retries). */
export function exitFor(err: TaskfleetError): number {
  const s = err.status;
  if (s === 0 || s === 429 || s === 503) return EXIT.unavailable;
  if (s === 401 || s === 403) return EXIT.unauthorized;
  if (s === 404) return EXIT.notFound;
  if ([400, 409, 413, 415, 422].includes(s)) return EXIT.refused;
  return EXIT.failed;
}
