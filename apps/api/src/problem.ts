/**
 * One error shape for every failure: RFC 9457 problem+json with `type`, `title`, `status`,
 * `detail`, the request id, and `errors` naming each bad field. Internal messages never leak:
 * anything that is not an ApiError becomes a generic 500 (logged with its stack) — or a 503 when
 * the database cannot be reached, which clients may retry.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { type FieldError, isDatabaseUnavailable, type Logger, type Problem } from '@taskfleet/core';
import type { AppEnv } from './env.ts';

export { isDatabaseUnavailable };

export type { FieldError, Problem } from '@taskfleet/core';

const TYPE_BASE = 'https://taskfleet.dev/problems/';

export class ApiError extends Error {
  readonly status: number;
  readonly problemType: string;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;
  constructor(
    status: number,
    type: string,
    title: string,
    detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; extensions?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(detail ?? title, { cause: options.cause });
    this.name = 'ApiError';
    this.status = status;
    this.problemType = type;
    this.title = title;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }

  toProblem(): Problem {
    return {
      type: `${TYPE_BASE}${this.problemType}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(this.errors ? { errors: this.errors } : {}),
      ...this.extensions,
    };
  }
}

export const problems = {
  validation: (errors: FieldError[], detail = 'The request has invalid fields.') =>
    new ApiError(422, 'validation', 'Validation failed', detail, { errors }),
  badRequest: (detail: string, errors?: FieldError[]) => new ApiError(400, 'bad-request', 'Bad request', detail, errors ? { errors } : {}),
  notFound: (detail: string) => new ApiError(404, 'not-found', 'Not found', detail),
  conflict: (detail: string, extensions?: Record<string, unknown>) =>
    new ApiError(409, 'conflict', 'Conflict', detail, extensions ? { extensions } : {}),
  unauthorized: (detail: string) =>
    new ApiError(401, 'unauthorized', 'Unauthorized', detail, { headers: { 'www-authenticate': 'Bearer realm="taskfleet"' } }),
  forbidden: (detail: string) => new ApiError(403, 'forbidden', 'Forbidden', detail),
  tooLarge: (limit: number) => new ApiError(413, 'payload-too-large', 'Payload too large', `The request body exceeds ${limit} bytes.`),
  unsupportedMediaType: (got: string | undefined) =>
    new ApiError(
      415,
      'unsupported-media-type',
      'Unsupported media type',
      `Expected content-type application/json, got ${got ? JSON.stringify(got) : 'none'}.`,
    ),
  rateLimited: (retryAfterSeconds: number) =>
    new ApiError(429, 'rate-limited', 'Too many requests', `This API key exceeded its request rate; retry after ${retryAfterSeconds} s.`, {
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  overloaded: (detail: string, retryAfterSeconds = 1) =>
    new ApiError(503, 'overloaded', 'Service overloaded', detail, { headers: { 'retry-after': String(retryAfterSeconds) } }),
  unavailable: (detail: string, retryAfterSeconds = 2) =>
    new ApiError(503, 'unavailable', 'Service unavailable', detail, { headers: { 'retry-after': String(retryAfterSeconds) } }),
  /** One shard's primary does not answer: only requests that need that shard get this (`shard` names it). */
  shardUnavailable: (shard: number, cause?: unknown, retryAfterSeconds = 2) =>
    new ApiError(
      503,
      'shard-unavailable',
      'Shard unavailable',
      `The database of shard ${shard} is unavailable; only requests that need this shard are refused. Retry shortly.`,
      { headers: { 'retry-after': String(retryAfterSeconds) }, extensions: { shard }, cause },
    ),
};

/**
 * Whether a failure means a shard could not be reached: a connection-level error from its database,
 * or the 503 `shardUnavailable` already made of one. Fan-out reads, batches and task lookups leave
 * such a shard out (or name it) instead of failing the whole request.
 */
export function isShardUnreachable(err: unknown): boolean {
  return err instanceof ApiError ? err.problemType === 'shard-unavailable' : isDatabaseUnavailable(err);
}

/**
 * A failure of a statement on `shard`: a 503 naming the shard when its database cannot be reached
 * (connection refused or terminated, no connection within the timeout), else the error itself.
 */
export function shardFailure(shard: { id: number }, err: unknown): unknown {
  if (err instanceof ApiError || !isDatabaseUnavailable(err)) return err;
  return problems.shardUnavailable(shard.id, err);
}

export function problemResponse(c: Context<AppEnv>, problem: Problem, headers: Record<string, string> = {}): Response {
  const requestId = c.get('requestId');
  return new Response(JSON.stringify({ ...problem, ...(requestId ? { requestId } : {}) }), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

/** `app.onError`: every thrown thing becomes a problem+json response. */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context<AppEnv>): Response => {
    // `log` is unset only if the request context middleware has not run.
    const log = c.get('log')?.() ?? logger;
    if (err instanceof ApiError) {
      if (err.problemType === 'shard-unavailable') log.warn({ err: err.cause, shard: err.extensions.shard }, 'shard unavailable');
      return problemResponse(c, err.toProblem(), err.headers);
    }
    if (err instanceof HTTPException) {
      return problemResponse(c, { type: `${TYPE_BASE}http-${err.status}`, title: err.message || 'HTTP error', status: err.status });
    }
    if (isDatabaseUnavailable(err)) {
      log.warn({ err }, 'database unavailable');
      const e = problems.unavailable('The database is unavailable; retry shortly.');
      return problemResponse(c, e.toProblem(), e.headers);
    }
    log.error({ err }, 'unhandled error');
    return problemResponse(c, {
      type: `${TYPE_BASE}internal`,
      title: 'Internal server error',
      status: 500,
      detail: 'An unexpected error occurred.',
    });
  };
}
