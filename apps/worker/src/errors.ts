/**
 * How a handler says what kind of failure it hit. Anything thrown is retried (with the task type's
 * backoff) unless it is a PermanentError; a RetryableError may ask for a minimum delay.
 */

/** The task can never succeed (bad input, 4xx from a receiver): no more attempts. Like BullMQ's UnrecoverableError. */
export class PermanentError extends Error {
  readonly details: Record<string, unknown> | undefined;
  constructor(message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentError';
    this.details = details;
  }
}

/** Retry, but not before `retryAfterSeconds` (e.g. a receiver's 429 Retry-After). */
export class RetryableError extends Error {
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  constructor(message: string, options: { retryAfterSeconds?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RetryableError';
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }
}

/** The attempt passed its deadline. */
export class TimeoutError extends Error {
  constructor(seconds: number) {
    super(`the attempt exceeded its ${seconds} s deadline`);
    this.name = 'TimeoutError';
  }
}

/** The worker is shutting down; the job goes back to the queue without using up an attempt. */
export class ShutdownError extends Error {
  constructor() {
    super('the worker shut down while the job was running');
    this.name = 'ShutdownError';
  }
}

/**
 * The task did not run because a fleet-wide limit held it (e.g. its receiving host is at its
 * limit): it goes back to the queue without using up an attempt, and starts again no sooner than
 * `retryAfterSeconds`.
 */
export class DeferredError extends Error {
  readonly retryAfterSeconds: number;
  readonly reason: string;
  constructor(reason: string, message: string, retryAfterSeconds: number) {
    super(message);
    this.name = 'DeferredError';
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The task was cancelled (API or CLI) while it ran: it ends `cancelled`, not retried. */
export class CancelledError extends Error {
  constructor() {
    super('the task was cancelled while it ran');
    this.name = 'CancelledError';
  }
}

/**
 * This replica was unreachable long enough to be declared dead, and a live replica gave the job
 * back to its queue (it may already run elsewhere): stop the handler; nothing is recorded.
 */
export class TakenOverError extends Error {
  constructor() {
    super('the job was given back to its queue while this replica was unreachable');
    this.name = 'TakenOverError';
  }
}

/** Anything thrown, as an Error (catch sites receive `unknown`). */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`non-error thrown: ${String(thrown)}`);
  }
}

/** The JSON stored as a failed attempt's error (bounded, no stack traces of other services). */
export function errorRecord(err: Error, attempt: number): Record<string, unknown> {
  const details = (err as { details?: unknown }).details;
  return {
    attempt,
    at: new Date().toISOString(),
    name: err.name,
    message: err.message.slice(0, 2000),
    ...(details && typeof details === 'object' ? { details } : {}),
  };
}
