/**
 * The problem+json side of the OpenAPI document: the Problem schema and the reusable problem answers
 * by status (openapi-schemas.ts re-exports them for the route modules).
 */
import { z } from '@hono/zod-openapi';

export const FieldErrorSchema = z
  .object({
    field: z.string().openapi({ description: 'Path of the bad field', example: 'payload.url' }),
    message: z.string(),
  })
  .openapi('FieldError');

export const ProblemSchema = z
  .looseObject({
    type: z.string().openapi({ example: 'https://taskfleet.dev/problems/validation' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    requestId: z.string().optional().openapi({ description: 'The `X-Request-Id` of the request' }),
    errors: z.array(FieldErrorSchema).optional().openapi({ description: 'One entry per bad field (validation)' }),
  })
  .openapi('Problem', {
    description:
      "RFC 9457 problem details; some carry extensions, e.g. `taskId` or `state` on a 409, or `shard` on a 503 when one shard's database is unavailable (type `…/shard-unavailable`).",
  });

/** The problem+json answers, by status: each a reusable response in the document's components. */
const PROBLEMS = {
  400: ['BadRequest', 'Malformed body: not JSON, not UTF-8, or empty'],
  401: ['Unauthorized', 'No API key, or an invalid or revoked one'],
  403: ['Forbidden', 'The API key lacks the scope this needs'],
  404: ['NotFound', 'No such queue or task (or not visible to this API key)'],
  409: ['Conflict', 'Conflict with the current state'],
  413: ['PayloadTooLarge', 'The body is larger than the limit'],
  415: ['UnsupportedMediaType', 'The body is not application/json (UTF-8)'],
  422: ['ValidationFailed', 'Validation failed: `errors` names each bad field'],
  429: ['RateLimited', "The API key's request rate is exceeded"],
  503: [
    'Unavailable',
    "Overloaded, shutting down, or the database is unavailable. With several shards, a shard whose database does not answer makes only the requests that need it answer 503 (type `https://taskfleet.dev/problems/shard-unavailable`, the shard's id in `shard`); requests for other shards' tasks go on",
  ],
} as const;
type ProblemStatus = keyof typeof PROBLEMS;

const retryAfter = { description: 'Seconds to wait before retrying', required: true, schema: { type: 'integer', minimum: 1 } };
const HEADERS: Partial<Record<ProblemStatus, Record<string, { description: string; required: boolean; schema: Record<string, unknown> }>>> =
  {
    401: { 'WWW-Authenticate': { description: '`Bearer realm="taskfleet"`', required: true, schema: { type: 'string' } } },
    429: { 'Retry-After': retryAfter },
    503: { 'Retry-After': retryAfter },
  };

const answer = <S>(code: ProblemStatus, description: string, schema: S) => ({
  description,
  content: { 'application/problem+json': { schema } },
  ...(HEADERS[code] ? { headers: HEADERS[code] } : {}),
});

/** The reusable problem answers (openapi.ts registers them as components; the generated Problem schema is registered beside them). */
export function problemComponents() {
  return (Object.keys(PROBLEMS).map(Number) as ProblemStatus[]).map((code) => {
    const [name, description] = PROBLEMS[code];
    return [name, answer(code, description, { $ref: '#/components/schemas/Problem' })] as const;
  });
}

/** The problem+json answers an operation can give. */
export function problemResponses(...codes: ProblemStatus[]) {
  return Object.fromEntries(codes.map((code) => [code, { $ref: `#/components/responses/${PROBLEMS[code][0]}` }]));
}

/** A problem+json answer with a description of its own. */
export const problemResponse = (code: ProblemStatus, description: string) => answer(code, description, ProblemSchema);
