/**
 * The OpenAPI 3.1 document, built from the same zod schemas that validate requests (the task
 * registry's payload schemas and the enqueue request schema), so the docs cannot drift from the
 * code. Enqueue paths are listed per task type with that type's payload schema.
 */
import { allTasks, PRIORITY_NAMES, TASK_STATES, type TaskDefinition } from '@taskfleet/core';
import { z } from 'zod';
import { taskOptionsSchema } from './enqueue/schema.ts';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

const problem = {
  description: 'Problem (RFC 9457)',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), problem]));

function enqueuePaths(def: TaskDefinition) {
  const payloadRef = { $ref: `#/components/schemas/${def.name}.payload` };
  const request = {
    allOf: [{ $ref: '#/components/schemas/TaskOptions' }, { type: 'object', required: ['payload'], properties: { payload: payloadRef } }],
  };
  return {
    [`/v1/queues/${def.name}/tasks`]: {
      post: {
        tags: ['tasks'],
        summary: `Enqueue one ${def.name} task`,
        description: `${def.description}\n\nAnswers 202 once the task is committed. A repeat with the same idempotency key answers 200 with the same task and enqueues nothing; the same key with a different request answers 409.`,
        parameters: [
          { name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 255 } },
          { name: 'traceparent', in: 'header', schema: { type: 'string' }, description: 'W3C trace context, stored with the task' },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: request } } },
        responses: {
          '202': { description: 'Accepted', content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } } },
          '200': {
            description: 'Idempotent repeat: the existing task',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Task' } } },
          },
          ...errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
        },
      },
    },
    [`/v1/queues/${def.name}/tasks:batch`]: {
      post: {
        tags: ['tasks'],
        summary: `Enqueue many ${def.name} tasks in one insert`,
        description:
          'Per-item results: accepted, duplicate (idempotency key seen before), conflict (key reused with a different request), invalid (with field errors). Valid items are stored even when others are invalid.',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', required: ['tasks'], properties: { tasks: { type: 'array', items: request } } },
            },
          },
        },
        responses: {
          '202': {
            description: 'At least one task accepted',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchResult' } } },
          },
          '200': {
            description: 'Nothing new accepted (all duplicates/conflicts/invalid)',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchResult' } } },
          },
          ...errors(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
      },
    },
  };
}

export function buildOpenApi(serverUrl?: string): Record<string, unknown> {
  const taskId = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
  const queueParam = { name: 'queue', in: 'path', required: true, schema: { type: 'string' } };
  const taskResponse = { description: 'The task', content: { 'application/json': { schema: { $ref: '#/components/schemas/Task' } } } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'taskfleet API',
      version: '1',
      description:
        'Submit tasks over HTTP; they are stored durably in PostgreSQL (pg-boss) and run by the worker fleet. Authenticate with `Authorization: Bearer <api key>`. Errors are application/problem+json.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }],
    paths: {
      ...Object.assign({}, ...Object.values(allTasks()).map((d) => enqueuePaths(d))),
      '/v1/queues/{queue}/tasks/{id}': {
        get: {
          tags: ['tasks'],
          summary: 'Task status',
          parameters: [queueParam, taskId],
          responses: { '200': taskResponse, ...errors(401, 404, 503) },
        },
      },
      '/v1/queues/{queue}/tasks/{id}:cancel': {
        post: {
          tags: ['tasks'],
          summary: 'Cancel a task that has not finished',
          parameters: [queueParam, taskId],
          responses: { '200': taskResponse, ...errors(401, 403, 404, 409, 503) },
        },
      },
      '/v1/queues/{queue}/tasks/{id}:retry': {
        post: {
          tags: ['tasks'],
          summary: 'Run a failed, dead-lettered or cancelled task again',
          parameters: [queueParam, taskId],
          responses: { '200': taskResponse, ...errors(401, 403, 404, 409, 503) },
        },
      },
      '/v1/queues/{queue}/dead-letter:redrive': {
        post: {
          tags: ['dead-letter'],
          summary: 'Move dead-lettered tasks back into their queue (admin)',
          description:
            'Body (optional): `{ "limit": 1000, "ids": ["<id in the dead-letter queue>"] }`. Oldest first. List them with GET /v1/queues/{queue}.dead/tasks.',
          parameters: [queueParam],
          responses: { '200': { description: '`{ queue, deadLetterQueue, moved }`' }, ...errors(401, 403, 404, 422, 503) },
        },
      },
      '/v1/queues/{queue}/tasks': {
        get: {
          tags: ['tasks'],
          summary: 'List tasks, newest first (cursor pagination)',
          parameters: [
            queueParam,
            { name: 'state', in: 'query', schema: { type: 'string' }, description: `Comma-separated: ${TASK_STATES.join(', ')}` },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' }, description: '`nextCursor` of the previous page' },
          ],
          responses: {
            '200': {
              description: 'A page',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      tasks: { type: 'array', items: { $ref: '#/components/schemas/Task' } },
                      nextCursor: { type: ['string', 'null'] },
                    },
                  },
                },
              },
            },
            ...errors(401, 404, 422, 503),
          },
        },
      },
      '/v1/queues': {
        get: {
          tags: ['queues'],
          summary: 'Queues with depth by state and oldest ready age',
          responses: { '200': { description: 'Queues' }, ...errors(401, 503) },
        },
      },
      '/v1/queues/{queue}': {
        get: {
          tags: ['queues'],
          summary: 'One queue',
          parameters: [queueParam],
          responses: { '200': { description: 'Queue' }, ...errors(401, 404, 503) },
        },
      },
      '/v1/me': {
        get: {
          tags: ['fleet'],
          summary: "The calling API key's name and scopes",
          responses: { '200': { description: 'Key' }, ...errors(401) },
        },
      },
      '/v1/workers': {
        get: {
          tags: ['fleet'],
          summary: 'Worker replicas seen in the last 30 s, with slots in use and limit',
          responses: { '200': { description: 'Workers' }, ...errors(401, 503) },
        },
      },
      '/v1/stats': {
        get: {
          tags: ['fleet'],
          summary: 'Queue snapshot (depth by state and priority), its last hour on this replica, tasks created/finished per minute',
          responses: { '200': { description: 'Stats' }, ...errors(401, 503) },
        },
      },
      '/healthz': { get: { tags: ['operations'], security: [], summary: 'Process is alive', responses: { '200': { description: 'ok' } } } },
      '/readyz': {
        get: {
          tags: ['operations'],
          security: [],
          summary: 'Database reachable and not draining',
          responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
        },
      },
      '/metrics': {
        get: {
          tags: ['operations'],
          security: [],
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'text exposition' } },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        TaskOptions: json(taskOptionsSchema),
        ...Object.fromEntries(Object.values(allTasks()).map((d) => [`${d.name}.payload`, json(d.schema)])),
        Accepted: {
          type: 'object',
          required: ['id', 'queue', 'state', 'statusUrl'],
          properties: {
            id: { type: 'string', format: 'uuid' },
            queue: { type: 'string' },
            state: { enum: ['queued', 'scheduled'] },
            statusUrl: { type: 'string' },
          },
        },
        Task: {
          type: 'object',
          properties: {
            id: { type: 'string', format: 'uuid' },
            queue: { type: 'string' },
            state: { enum: [...TASK_STATES] },
            priority: { enum: [...PRIORITY_NAMES] },
            attempts: { type: 'integer' },
            maxAttempts: { type: 'integer' },
            createdAt: { type: 'string', format: 'date-time' },
            runAt: { type: 'string', format: 'date-time' },
            startedAt: { type: ['string', 'null'], format: 'date-time' },
            finishedAt: { type: ['string', 'null'], format: 'date-time' },
            payload: {},
            output: {},
            lastError: {},
            idempotencyKey: { type: ['string', 'null'] },
            traceparent: { type: ['string', 'null'] },
            deadLetterQueue: { type: ['string', 'null'] },
            source: { type: ['object', 'null'] },
            statusUrl: { type: 'string' },
          },
        },
        BatchResult: {
          type: 'object',
          properties: {
            accepted: { type: 'integer' },
            duplicate: { type: 'integer' },
            conflict: { type: 'integer' },
            invalid: { type: 'integer' },
            results: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  index: { type: 'integer' },
                  status: { enum: ['accepted', 'duplicate', 'conflict', 'invalid'] },
                  id: { type: 'string' },
                  statusUrl: { type: 'string' },
                  errors: { type: 'array', items: { $ref: '#/components/schemas/FieldError' } },
                },
              },
            },
          },
        },
        FieldError: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            requestId: { type: 'string' },
            errors: { type: 'array', items: { $ref: '#/components/schemas/FieldError' } },
          },
        },
      },
    },
  };
}
