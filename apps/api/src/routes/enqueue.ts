/**
 * Enqueue routes: `POST /v1/queues/{queue}/tasks` (one task, group commit) and
 * `POST /v1/queues/{queue}/tasks:batch` (one insert, per-item results). Admission control runs first
 * (middleware/admission.ts); the handlers read the body and hand plain inputs to enqueue/.
 * The OpenAPI document lists both operations per task type, with that type's payload schema; they
 * are declared for the document only (the handlers validate, so errors keep their problem+json shape).
 */
import { createRoute, type RouteConfig, z } from '@hono/zod-openapi';
import type { TaskDefinition } from '@taskfleet/core';
import { Hono, type Context } from 'hono';
import { readJsonBody } from '../body.ts';
import { enqueueBatch } from '../enqueue/enqueue-batch.ts';
import { type EnqueueDeps, type EnqueueRequestInfo, enqueueTask } from '../enqueue/enqueue-task.ts';
import { batchRequestSchema, IDEMPOTENCY_KEY, taskOptionsSchema } from '../enqueue/schema.ts';
import type { AppEnv } from '../env.ts';
import { type AdmissionDeps, admission } from '../middleware/admission.ts';
import { principalOf } from '../middleware/auth.ts';
import { payloadSchema } from '../openapi-payload.ts';
import { BatchResultSchema, EnqueueReceiptSchema, jsonResponse, problemResponses, TaskSchema } from '../openapi-schemas.ts';
import { requestHeader } from '../headers.ts';
import { MISSING_SHARDS_HEADER } from '../shards/fan-out.ts';
import { baseUrl } from './base-url.ts';

/** Headers of a batch answer with `unavailable` items. */
const partialHeaders = z.object({
  [MISSING_SHARDS_HEADER]: z
    .string()
    .optional()
    .openapi({ description: "Comma-separated ids of the shards whose items are `unavailable` (absent when every item's shard answered)" }),
  'Retry-After': z
    .string()
    .optional()
    .openapi({ description: 'With `X-Missing-Shards`: seconds before sending the unavailable items again' }),
});

/** The two enqueue operations of one task type. */
export function enqueueOperations(def: TaskDefinition): RouteConfig[] {
  const request = taskOptionsSchema.extend({ payload: payloadSchema(def) }).openapi(`${def.name}.EnqueueRequest`, {
    description: `One ${def.name} task: its payload and options (give runAt or delaySeconds, not both)`,
  });
  const location = z.object({ Location: z.url().openapi({ description: "The task's status URL" }) });
  return [
    createRoute({
      operationId: `enqueueTask_${def.name}`,
      method: 'post',
      path: `/v1/queues/${def.name}/tasks`,
      tags: ['tasks'],
      summary: `Enqueue one ${def.name} task`,
      description: `${def.description}\n\nAnswers 202 once the task is committed. A repeat with the same idempotency key answers 200 with the same task and enqueues nothing; the same key with a different request answers 409.`,
      request: {
        headers: z.object({
          'Idempotency-Key': IDEMPOTENCY_KEY.optional().openapi({ description: 'Used when the body has no `idempotencyKey`' }),
          traceparent: z.string().optional().openapi({ description: 'W3C trace context, stored with the task' }),
        }),
        body: { required: true, content: { 'application/json': { schema: request } } },
      },
      responses: {
        202: { ...jsonResponse('Accepted: the task is committed', EnqueueReceiptSchema), headers: location },
        200: { ...jsonResponse('Idempotent repeat: the task stored before', TaskSchema), headers: location },
        ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
      },
    }),
    createRoute({
      operationId: `enqueueBatch_${def.name}`,
      method: 'post',
      path: `/v1/queues/${def.name}/tasks:batch`,
      tags: ['tasks'],
      summary: `Enqueue many ${def.name} tasks in one insert`,
      description:
        "Per-item results: accepted, duplicate (idempotency key seen before), conflict (key reused with a different request), invalid (with field errors). Valid items are stored even when others are invalid; a batch with no valid item answers 422. At most `API_BATCH_MAX_TASKS` tasks.\n\nWith several shards the items are split by shard and answered in the request's order. Items whose shard's database does not answer are `unavailable` (with `shard`; not acknowledged — send them again) while the others are stored; such an answer carries `X-Missing-Shards` and `Retry-After`. When no item could be stored the answer is a 503 naming the shard.",
      request: {
        body: {
          required: true,
          content: { 'application/json': { schema: batchRequestSchema.extend({ tasks: z.array(request).min(1) }) } },
        },
      },
      responses: {
        202: { ...jsonResponse('At least one task accepted', BatchResultSchema), headers: partialHeaders },
        200: {
          ...jsonResponse('Nothing new accepted (all duplicates, conflicts, invalid or unavailable)', BatchResultSchema),
          headers: partialHeaders,
        },
        ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429, 503),
      },
    }),
  ];
}

export type EnqueueRouteDeps = EnqueueDeps & AdmissionDeps;

function requestInfo(c: Context<AppEnv, '/v1/queues/:queue/*'>, deps: EnqueueRouteDeps): EnqueueRequestInfo {
  return {
    queue: c.req.param('queue'),
    principal: principalOf(c),
    requestId: c.get('requestId'),
    traceparent: requestHeader(c, 'traceparent'),
    baseUrl: baseUrl(c, deps.config),
  };
}

export function enqueueRoutes(deps: EnqueueRouteDeps): Hono<AppEnv> {
  const { api } = deps.config;
  const app = new Hono<AppEnv>();
  const admit = admission(deps);

  app.post('/v1/queues/:queue/tasks', admit, async (c) => {
    const body = await readJsonBody(c, api.bodyLimitBytes);
    const result = await enqueueTask({ ...requestInfo(c, deps), body, headerKey: requestHeader(c, 'idempotency-key') }, deps);
    // A plain header object keeps @hono/node-server's lightweight response (see headers.ts).
    return new Response(JSON.stringify(result.body), {
      status: result.status,
      headers: { 'content-type': 'application/json', location: result.location },
    });
  });

  app.post('/v1/queues/:queue/:op{tasks:batch}', admit, async (c) => {
    const body = await readJsonBody(c, api.batchBodyLimitBytes);
    const result = await enqueueBatch({ ...requestInfo(c, deps), body }, deps);
    if (result.missing.length > 0) {
      c.header(MISSING_SHARDS_HEADER, result.missing.join(','));
      c.header('retry-after', '2');
    }
    return c.json(result.body, result.status);
  });
  return app;
}
