/**
 * Task progress: what a handler reports with `ctx.progress(value)` and the status endpoint shows as
 * `progress` — a number from 0 to 100, or a small JSON object (at most {@link MAX_PROGRESS_BYTES}
 * serialized), e.g. `{ "done": 120, "total": 500, "stage": "upload" }`.
 */

export type ProgressValue = number | { [key: string]: unknown };

/** Largest serialized progress object. */
export const MAX_PROGRESS_BYTES = 2048;

export class InvalidProgressError extends TypeError {
  constructor(message: string) {
    super(`ctx.progress(): ${message}`);
    this.name = 'InvalidProgressError';
  }
}

/**
 * The value as it is stored (JSON text), or an InvalidProgressError saying what is wrong with it.
 * Objects are serialized here once, so the check and the write agree on the size.
 */
export function serializeProgress(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > 100)
      throw new InvalidProgressError(`a number must be between 0 and 100 (got ${String(value)})`);
    return String(value);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype)
    throw new InvalidProgressError('expected a number from 0 to 100 or a plain JSON object');
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidProgressError(`the object is not serializable as JSON (${(err as Error).message})`);
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_PROGRESS_BYTES) throw new InvalidProgressError(`the object is ${bytes} bytes as JSON; at most ${MAX_PROGRESS_BYTES}`);
  return text;
}
