/**
 * The schedule request contract (`PUT /v1/schedules/{name}`) and its answer. The options are the
 * enqueue options that apply to a recurring task (priority, maxAttempts, timeoutSeconds, group), with
 * the enqueue schemas; the payload is validated against the queue's task type by the enqueue
 * validator, so its errors read `payload.url` as they do on enqueue.
 */
import { z } from '@hono/zod-openapi';
import {
  checkSchedule,
  getTaskDefinition,
  isValidTimezone,
  PRIORITY_NAMES,
  type PriorityName,
  type ScheduleRow,
  ScheduleSpecError,
  type ScheduleView,
} from '@taskfleet/core';
import { taskOptionsSchema, validateTask, zodFieldErrors } from '../enqueue/schema.ts';
import { knownQueue } from '../known-queues.ts';
import { JsonValue } from '../openapi-schemas.ts';
import type { FieldError } from '../problem.ts';

export const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const options = taskOptionsSchema.pick({ priority: true, maxAttempts: true, timeoutSeconds: true, group: true });

export const scheduleRequestSchema = options.extend({
  queue: z.string().min(1).max(128).openapi({ description: 'The task type (queue) each task goes to', example: 'http.request' }),
  cron: z.string().min(1).max(256).openapi({ description: '5 fields: minute hour day-of-month month day-of-week', example: '*/5 * * * *' }),
  timezone: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: 'IANA time zone the expression is evaluated in (default UTC)', example: 'Europe/Berlin' }),
  payload: z.unknown().openapi({ description: "Each task's payload, validated against the queue's task type" }),
});

export interface ScheduleInput {
  queue: string;
  cron: string;
  timezone: string;
  payload: unknown;
  options: ScheduleView['options'];
}

/** Options, queue, cron, time zone and payload; every bad field is named at once. */
export function validateSchedule(body: unknown): { ok: true; value: ScheduleInput } | { ok: false; errors: FieldError[] } {
  const parsed = scheduleRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, errors: zodFieldErrors(parsed.error) };
  const { queue, cron, timezone = 'UTC', payload, ...given } = parsed.data;
  const errors: FieldError[] = [];
  // The queues enqueue takes (known-queues.ts requireTaskType), named as a body field here.
  const found = getTaskDefinition(queue);
  const def = found?.internal ? undefined : found;
  if (!def) {
    errors.push({
      field: 'queue',
      message: found
        ? 'is an internal queue: the fleet makes its tasks'
        : knownQueue(queue)
          ? 'is a dead-letter queue; tasks cannot be submitted to it'
          : `there is no task queue named ${JSON.stringify(queue)}`,
    });
  }
  const zoneOk = isValidTimezone(timezone);
  if (!zoneOk) errors.push({ field: 'timezone', message: 'must be an IANA time zone name, e.g. UTC or Europe/Berlin' });
  try {
    checkSchedule(cron, zoneOk ? timezone : 'UTC');
  } catch (err) {
    if (!(err instanceof ScheduleSpecError)) throw err;
    errors.push({ field: err.field, message: err.message });
  }
  // As stored on enqueue: the payload as the task type's schema outputs it (its defaults filled in).
  let stored: unknown = payload;
  if (def) {
    const task = validateTask({ payload }, def);
    if (task.ok) stored = task.payload;
    else errors.push(...task.errors);
  }
  if (errors.length > 0) return { ok: false, errors };
  const opts: ScheduleView['options'] = {};
  if (given.priority !== undefined) opts.priority = given.priority as PriorityName;
  if (given.maxAttempts !== undefined) opts.maxAttempts = given.maxAttempts;
  if (given.timeoutSeconds !== undefined) opts.timeoutSeconds = given.timeoutSeconds;
  if (given.group !== undefined) opts.group = given.group;
  return { ok: true, value: { queue, cron: cron.trim().split(/\s+/).join(' '), timezone, payload: stored, options: opts } };
}

export function toScheduleView(s: ScheduleRow): ScheduleView {
  return {
    name: s.name,
    queue: s.queue,
    cron: s.cron,
    timezone: s.timezone,
    payload: s.payload,
    options: s.options as ScheduleView['options'],
    nextRunAt: s.nextRunAt.toISOString(),
    lastRunAt: s.lastRunAt?.toISOString() ?? null,
    lastTaskId: s.lastTaskId,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

const dateTime = z.iso.datetime();

export const ScheduleSchema = z
  .object({
    name: z.string().regex(SCHEDULE_NAME),
    queue: z.string(),
    cron: z.string(),
    timezone: z.string(),
    payload: JsonValue,
    options: z
      .object({
        priority: z.enum(PRIORITY_NAMES as readonly [PriorityName, ...PriorityName[]]).optional(),
        maxAttempts: z.number().int().min(1).optional(),
        timeoutSeconds: z.number().int().min(1).optional(),
        group: z.string().optional(),
      })
      .openapi({ description: "Each task's enqueue options; `group` defaults to the setting API key's name" }),
    nextRunAt: dateTime.openapi({ description: 'The next slot: its task is inserted within SCHEDULER_INTERVAL_MS of it' }),
    lastRunAt: dateTime.nullable().openapi({ description: 'The last slot fired' }),
    lastTaskId: z.uuid().nullable().openapi({ description: "The last slot's task (its id derives from the name and the slot)" }),
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .openapi('Schedule');

export const ScheduleListSchema = z.object({ schedules: z.array(ScheduleSchema) }).openapi('ScheduleList');

export const ScheduleParams = z.object({
  name: z
    .string()
    .regex(SCHEDULE_NAME)
    .openapi({ description: 'Schedule name: letters, digits, . _ - (at most 128)', example: 'nightly-report' }),
});

/** The answer schema and the wire type agree (a compile-time check, as in openapi-schemas.ts). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const scheduleSchemaCheck: Same<Omit<z.infer<typeof ScheduleSchema>, 'payload'>, Omit<ScheduleView, 'payload'>> = true;
