/**
 * The enqueue request contract. The payload itself is validated against the task type's own schema
 * from packages/core, so field errors read `payload.url`, `tasks[3].payload.url`, `tasks[3].priority`.
 */
import { callbackOptionSchema, PRIORITY_NAMES, type TaskDefinition } from '@taskfleet/core';
import { z } from 'zod';
import type { FieldError } from '../problem.ts';
import { dependsOnSchema } from './dependencies.ts';

const MAX_DELAY_SECONDS = 365 * 24 * 3600;
export const IDEMPOTENCY_KEY = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be 1–255 printable ASCII characters without spaces');

/** Dedup window (enqueue/dedupe.ts): at most one task per key and window, the first or the last. */
export const dedupeSchema = z.strictObject({
  key: IDEMPOTENCY_KEY,
  seconds: z.number().int().min(1).max(MAX_DELAY_SECONDS),
  mode: z.enum(['throttle', 'debounce']).default('throttle'),
});

export const taskOptionsSchema = z.strictObject({
  priority: z.enum(PRIORITY_NAMES as [string, ...string[]]).optional(),
  runAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2030-01-01T12:00:00Z' }).optional(),
  delaySeconds: z.number().int().min(0).max(MAX_DELAY_SECONDS).optional(),
  maxAttempts: z.number().int().min(1).max(100).optional(),
  timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  idempotencyKey: IDEMPOTENCY_KEY.optional(),
  /** POST the task's view here when it ends (packages/core tasks/callback.ts). */
  callback: callbackOptionSchema.optional(),
  group: z
    .string()
    .min(1)
    .max(128)
    .regex(/^\P{Cc}+$/u, 'must be 1–128 characters without control characters')
    .optional(),
  dedupe: dedupeSchema
    .describe(
      'At most one task per key and window (`seconds` long, aligned to the Unix epoch). throttle: the first task of the window stands, later requests answer 200 with it. debounce: the task runs at the end of the window with the content of the last request.',
    )
    .optional(),
  dependsOn: dependsOnSchema.optional(),
});

export const enqueueRequestSchema = taskOptionsSchema.extend({ payload: z.unknown().optional() });
export type EnqueueRequest = z.infer<typeof enqueueRequestSchema>;

export const batchRequestSchema = z.strictObject({ tasks: z.array(z.unknown()).min(1) });

export function zodFieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  return error.issues.map((issue) => {
    let field = prefix;
    for (const p of issue.path) {
      if (typeof p === 'number') field += `[${p}]`;
      else field += field ? `.${String(p)}` : String(p);
    }
    if (issue.code === 'unrecognized_keys') {
      return { field: field || '(body)', message: `unknown field(s): ${issue.keys.join(', ')}` };
    }
    return { field: field || '(body)', message: issue.message };
  });
}

export type ValidatedTask =
  | { ok: true; request: EnqueueRequest & { payload: unknown }; payload: unknown }
  | { ok: false; errors: FieldError[] };

/** True for a plain object whose only key is `payload`: every option is optional, so it passes. */
function payloadOnly(input: unknown): input is { payload: unknown } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return false;
  let keys = 0;
  for (const key in input) {
    if (key !== 'payload' || ++keys > 1) return false;
  }
  return keys === 1 && Object.getPrototypeOf(input) === Object.prototype;
}

/** Options a dedup window cannot be combined with. */
function dedupeConflicts(request: EnqueueRequest, prefix: string): FieldError[] {
  const at = (field: string) => `${prefix ? `${prefix}.` : ''}${field}`;
  const errors: FieldError[] = [];
  if (request.idempotencyKey !== undefined)
    errors.push({ field: at('dedupe'), message: 'give idempotencyKey or dedupe, not both (the dedupe key already identifies the task)' });
  if (request.dedupe?.mode === 'debounce' && (request.runAt !== undefined || request.delaySeconds !== undefined))
    errors.push({ field: at('dedupe.mode'), message: 'a debounced task runs at the end of its window: leave out runAt and delaySeconds' });
  return errors;
}

/** Validate one task request: options, then the payload against its task type. */
export function validateTask(input: unknown, def: TaskDefinition, prefix = ''): ValidatedTask {
  // Most requests carry a payload and no options: nothing for the options schema to check there
  // (a test holds it to that), and skipping it halves the validation's garbage.
  const parsed = payloadOnly(input)
    ? { success: true as const, data: { payload: input.payload } as EnqueueRequest, error: undefined }
    : enqueueRequestSchema.safeParse(input);
  const errors: FieldError[] = parsed.success ? [] : zodFieldErrors(parsed.error, prefix);
  if (parsed.success && parsed.data.runAt !== undefined && parsed.data.delaySeconds !== undefined) {
    errors.push({ field: `${prefix ? `${prefix}.` : ''}delaySeconds`, message: 'give runAt or delaySeconds, not both' });
  }
  if (parsed.success && parsed.data.dedupe) errors.push(...dedupeConflicts(parsed.data, prefix));
  const payloadInput = input && typeof input === 'object' && 'payload' in input ? (input as { payload: unknown }).payload : undefined;
  if (payloadInput === undefined) {
    if (!errors.some((e) => e.field.endsWith('payload')))
      errors.push({ field: `${prefix ? `${prefix}.` : ''}payload`, message: 'is required' });
  }
  // Only a missing payload is stood in for (its error is already recorded); `null` is validated as sent.
  const payload = def.schema.safeParse(payloadInput === undefined ? {} : payloadInput);
  if (!payload.success && payloadInput !== undefined) errors.push(...zodFieldErrors(payload.error, `${prefix ? `${prefix}.` : ''}payload`));
  if (errors.length > 0 || !parsed.success || !payload.success) return { ok: false, errors };
  return { ok: true, request: parsed.data as EnqueueRequest & { payload: unknown }, payload: payload.data };
}
