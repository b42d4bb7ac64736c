/**
 * Zod schemas of what the API answers (and of its path parameters), for the OpenAPI document. The
 * handlers build their answers as the wire types of packages/core/src/contract.ts; the type checks at
 * the end keep each schema and its type in step, so the document cannot drift from the answers.
 * Request bodies and queries are not here: routes declare the schemas that validate them.
 */
import { z } from '@hono/zod-openapi';
import { FieldErrorSchema, type ProblemSchema } from './openapi-problems.ts';
import {
  API_KEY_SCOPES,
  type BatchResult,
  type EnqueueReceipt,
  PRIORITY_NAMES,
  QUEUE_SETTINGS_MAX,
  type PriorityName,
  type Problem,
  QUEUE_DEPTH_STATES,
  type QueueInfo,
  TASK_STATES,
  type TaskView,
  type WorkerList,
} from '@taskfleet/core';

const priority = z.enum(PRIORITY_NAMES as readonly [PriorityName, ...PriorityName[]]);
const count = z.number().int().min(0);
const dateTime = z.iso.datetime();

/**
 * Any JSON value, as one schema rather than z.json()'s recursive one: the same values, and a
 * recursion through arrays would be a circular type in generated TypeScript clients.
 */
export const ANY_JSON = {
  type: ['string', 'number', 'boolean', 'null', 'array', 'object'] as ('string' | 'number' | 'boolean' | 'null' | 'array' | 'object')[],
  items: {},
  additionalProperties: {},
  description: 'Any JSON value',
};

/** Payloads, outputs and errors as stored. */
export const JsonValue = z.json().openapi('JsonValue', ANY_JSON);

export const TaskSchema = z
  .object({
    id: z.uuid(),
    queue: z.string(),
    state: z.enum(TASK_STATES),
    priority,
    attempts: count,
    maxAttempts: z.number().int().min(1),
    createdAt: dateTime,
    runAt: dateTime,
    startedAt: dateTime.nullable(),
    finishedAt: dateTime.nullable(),
    payload: JsonValue,
    output: JsonValue,
    lastError: JsonValue,
    progress: z
      .union([z.number().min(0).max(100), z.record(z.string(), z.unknown())])
      .nullable()
      .openapi({ description: 'What the handler last reported with ctx.progress(): 0–100 or a small object (≤ 2 KB); null: nothing yet' }),
    idempotencyKey: z.string().nullable(),
    dedupe: z
      .object({ key: z.string(), mode: z.enum(['throttle', 'debounce']), windowEnd: dateTime })
      .nullable()
      .openapi({ description: 'The dedup window the task stands for (enqueue `dedupe`); a debounced task runs at `windowEnd`' }),
    group: z
      .string()
      .nullable()
      .describe("The fairness group (queue setting groupConcurrency): as submitted, else the submitting API key's name"),
    traceparent: z.string().nullable(),
    callback: z
      .object({ url: z.url() })
      .nullable()
      .openapi({ description: 'Where the fleet POSTs this view (signed) when the task ends; null: no callback' }),
    deadLetterQueue: z.string().nullable(),
    source: z.object({ queue: z.string(), id: z.uuid() }).nullable().openapi({ description: 'For a dead-lettered copy: where it failed' }),
    dependsOn: z.array(z.object({ queue: z.string(), id: z.uuid() })).openapi({
      description:
        'The tasks this one waits for (enqueue `dependsOn`): `waiting` until all have completed; cancelled (the reason in `lastError`) if one fails, is dead-lettered or cancelled',
    }),
    statusUrl: z.url(),
  })
  .openapi('Task');

export const EnqueueReceiptSchema = z
  .object({
    id: z.uuid(),
    queue: z.string(),
    state: z.enum(['queued', 'scheduled', 'waiting', 'cancelled']).openapi({
      description:
        '`waiting` and `cancelled` only for tasks with `dependsOn` (cancelled: a dependency had already failed or was cancelled)',
    }),
    statusUrl: z.url(),
  })
  .openapi('EnqueueReceipt');

const BatchItemResultSchema = z
  .object({
    index: count,
    status: z.enum(['accepted', 'duplicate', 'replaced', 'conflict', 'invalid', 'unavailable']).openapi({
      description:
        "`duplicate`: an idempotent repeat, or the task a throttle window already holds; `replaced`: the debounced task of the window now carries this item's content; `unavailable` (several shards only): the item's shard did not answer — the item is not acknowledged, send it again (with an idempotency key that is safe)",
    }),
    id: z.uuid().optional(),
    statusUrl: z.url().optional(),
    errors: z.array(FieldErrorSchema).optional(),
    shard: z
      .number()
      .int()
      .min(0)
      .max(255)
      .optional()
      .openapi({ description: 'For `unavailable` items: the shard whose database did not answer' }),
  })
  .openapi('BatchItemResult');

export const BatchResultSchema = z
  .object({
    accepted: count,
    duplicate: count,
    replaced: count,
    conflict: count,
    invalid: count,
    unavailable: count.optional().openapi({ description: "Only when some items' shard did not answer (their items are `unavailable`)" }),
    results: z.array(BatchItemResultSchema),
  })
  .openapi('BatchResult');

export const TaskPageSchema = z
  .object({ tasks: z.array(TaskSchema), nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page' }) })
  .openapi('TaskPage');

export const QueueInfoSchema = z
  .object({
    name: z.string(),
    kind: z.enum(['tasks', 'dead-letter']),
    description: z.string().nullable(),
    deadLetterQueue: z.string().nullable(),
    depth: z.object({
      ready: count,
      scheduled: count,
      retrying: count,
      running: count,
      completed: count,
      failed: count,
      cancelled: count,
    }),
    oldestReadyAgeSeconds: z.number().min(0).nullable(),
    settings: z.lazy(() => QueueSettingsSchema),
  })
  .openapi('QueueInfo');

const rateSchema = z.strictObject({
  limit: z.number().int().min(1).max(QUEUE_SETTINGS_MAX.rateLimit).describe('Task starts per period across the fleet'),
  periodSeconds: z.number().int().min(1).max(QUEUE_SETTINGS_MAX.ratePeriodSeconds),
});

export const QueueSettingsSchema = z
  .object({
    paused: z.boolean().describe('No replica starts a task of the queue (enqueue is still accepted)'),
    concurrency: z.number().int().min(1).nullable().describe('Tasks of the queue running at once across every replica; null: unlimited'),
    rate: rateSchema.nullable().describe('At most `limit` starts in any window of `periodSeconds`; null: unlimited'),
    groupConcurrency: z
      .number()
      .int()
      .min(1)
      .nullable()
      .describe(
        "Tasks of one group (a task's `group`, by default its API key's name) running at once across every replica; groups are served in turn. null: no per-group limit",
      ),
  })
  .openapi('QueueSettings');

/** `PATCH /v1/queues/{queue}`: absent fields stay as they are; null clears a limit. Validates the request too. */
export const QueueSettingsPatchSchema = z
  .strictObject({
    paused: z.boolean().optional(),
    concurrency: z.number().int().min(1).max(QUEUE_SETTINGS_MAX.concurrency).nullable().optional(),
    rate: rateSchema.nullable().optional(),
    groupConcurrency: z.number().int().min(1).max(QUEUE_SETTINGS_MAX.concurrency).nullable().optional(),
  })
  .openapi('QueueSettingsPatch');

export const QueueListSchema = z.object({ queues: z.array(QueueInfoSchema) }).openapi('QueueList');

export const RedriveResultSchema = z.object({ queue: z.string(), deadLetterQueue: z.string(), moved: count }).openapi('RedriveResult');

export const WhoamiSchema = z.object({ name: z.string(), scopes: z.array(z.enum(API_KEY_SCOPES)) }).openapi('Whoami');

export const WorkerListSchema = z
  .object({
    workers: z.array(
      z.object({
        id: z.string(),
        hostname: z.string(),
        pid: z.number().int(),
        queues: z.array(z.string()),
        concurrency: count,
        active: count,
        startedAt: dateTime,
        seenAt: dateTime,
      }),
    ),
    totals: z.object({ replicas: count, slots: count, active: count }),
  })
  .openapi('WorkerList');

const QueueDepthSchema = z.object(Object.fromEntries(QUEUE_DEPTH_STATES.map((s) => [s, count]))).openapi('QueueDepth');

export const StatsSchema = z
  .object({
    computedAt: dateTime.nullable(),
    queues: z.array(
      z.object({
        queue: z.string(),
        depth: QueueDepthSchema,
        readyByPriority: z.record(priority, count).optional(),
        oldestReadyAgeSeconds: z.number().min(0).nullable(),
      }),
    ),
    history: z.array(z.object({ t: dateTime, queues: z.record(z.string(), QueueDepthSchema) })),
    throughput: z.array(z.object({ minute: dateTime, queue: z.string(), created: count, completed: count, failed: count })),
  })
  .openapi('Stats');

/** Path parameters. */
export const QueueParams = z.object({
  queue: z.string().openapi({ description: 'A task type, or its dead-letter queue (`<type>.dead`)', example: 'http.request' }),
});
export const TaskParams = QueueParams.extend({ id: z.uuid().openapi({ description: 'Task id' }) });

export { FieldErrorSchema, ProblemSchema, problemComponents, problemResponse, problemResponses } from './openapi-problems.ts';

/** A JSON answer. */
export const jsonResponse = <S extends z.ZodType>(description: string, schema: S) => ({
  description,
  content: { 'application/json': { schema } },
});

// The schemas above against the contract's types: a field added to one and not the other fails typecheck.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Fits<S extends z.ZodType, T> = Same<keyof z.output<S>, keyof T> extends true ? (z.output<S> extends T ? true : false) : false;
export type SchemaChecks = [
  Fits<typeof TaskSchema, TaskView>,
  Fits<typeof EnqueueReceiptSchema, EnqueueReceipt>,
  Fits<typeof BatchResultSchema, BatchResult>,
  Fits<typeof QueueInfoSchema, QueueInfo>,
  Fits<typeof WorkerListSchema, WorkerList>,
  z.output<typeof ProblemSchema> extends Problem ? true : false,
] extends true[]
  ? true
  : never;
export const schemaChecks: SchemaChecks = true;
