/**
 * The task contract: each task type is defined once, here in packages/core, with its payload
 * schema and its defaults. The API validates submissions against it; the worker types its handler
 * from it. Adding a task type = one definition file here + one handler file in apps/worker.
 */
import type { z } from 'zod';
import type { PriorityName } from '../priority.ts';
import { QUEUE_SETTINGS_MAX, type QueueSettingsPatch } from '../store/queue-settings.ts';
import { isValidTaskName } from '../queues.ts';

/** Per-type defaults; a submission may override some of them per task. */
export interface TaskDefaults {
  /** @defaultValue 'normal' */
  priority: PriorityName;
  /** Attempts in total, the first run included (pg-boss `retryLimit` = maxAttempts - 1). @defaultValue 5 */
  maxAttempts: number;
  /** First retry delay; doubles per attempt with jitter when `retryBackoff`. @defaultValue 5 */
  retryDelaySeconds: number;
  /** @defaultValue true */
  retryBackoff: boolean;
  /** Ceiling on the backoff delay. @defaultValue 3600 */
  retryDelayMaxSeconds: number;
  /** Deadline of one attempt: the handler's signal aborts at it and the attempt fails into retry. @defaultValue 60 */
  timeoutSeconds: number;
  /** How long a task may wait (created/retry) before it expires unrun. @defaultValue 14 days */
  retentionSeconds: number;
  /** How long finished tasks are kept for status queries. @defaultValue 7 days */
  deleteAfterSeconds: number;
  /** After the last attempt, move the task to the type's dead-letter queue. @defaultValue true */
  deadLetter: boolean;
  /**
   * Workers touch running jobs this often (÷2); a job whose worker died (SIGKILL, machine loss)
   * is retried once this long passes without a touch, instead of waiting for its expiry. @defaultValue 30
   */
  heartbeatSeconds: number;
}

export const BASE_TASK_DEFAULTS: TaskDefaults = {
  priority: 'normal',
  maxAttempts: 5,
  retryDelaySeconds: 5,
  retryBackoff: true,
  retryDelayMaxSeconds: 3600,
  timeoutSeconds: 60,
  retentionSeconds: 14 * 24 * 3600,
  deleteAfterSeconds: 7 * 24 * 3600,
  deadLetter: true,
  heartbeatSeconds: 30,
};

export interface TaskDefinition<Name extends string = string, Schema extends z.ZodType = z.ZodType> {
  readonly name: Name;
  readonly description: string;
  readonly schema: Schema;
  readonly defaults: Readonly<TaskDefaults>;
  /**
   * The queue's initial fleet-wide flow control (concurrency, rate, groupConcurrency, paused). The
   * migration step writes it when the queue has no settings yet; from then on the settings are the
   * operator's (`PATCH /v1/queues/{queue}`, `taskfleet queue set`), and a later change here does not
   * overwrite them.
   */
  readonly flowControl?: Readonly<QueueSettingsPatch>;
  /** Made by the fleet itself (e.g. callback deliveries): the API refuses submissions to it. */
  readonly internal?: boolean;
  /**
   * The queue gets a table of its own (a partition of `pgboss.job`) instead of sharing
   * `pgboss.job_common` with the other queues: its claims, index and vacuum no longer share pages with
   * them. Fixed when the queue is created: setting it on a type whose queue exists changes nothing
   * (the migration step warns); docs/operations.md, "Per-queue partitions", says how to move a queue.
   */
  readonly partition?: boolean;
}

/** The payload type of a task definition (after parsing: defaults filled in). */
export type PayloadOf<D> = D extends TaskDefinition<string, infer S> ? z.output<S> : never;
/** What a submitter writes (before defaults). */
export type PayloadInputOf<D> = D extends TaskDefinition<string, infer S> ? z.input<S> : never;

export function defineTask<const Name extends string, Schema extends z.ZodType>(def: {
  name: Name;
  description: string;
  schema: Schema;
  defaults?: Partial<TaskDefaults>;
  flowControl?: QueueSettingsPatch;
  internal?: boolean;
  partition?: boolean;
}): TaskDefinition<Name, Schema> {
  if (!isValidTaskName(def.name)) {
    throw new Error(`task name ${JSON.stringify(def.name)} is invalid: use lower-case dotted words like "http.request"`);
  }
  const defaults = { ...BASE_TASK_DEFAULTS, ...def.defaults };
  if (!Number.isInteger(defaults.maxAttempts) || defaults.maxAttempts < 1) {
    throw new Error(`task ${def.name}: defaults.maxAttempts must be an integer >= 1`);
  }
  if (defaults.timeoutSeconds < 1) throw new Error(`task ${def.name}: defaults.timeoutSeconds must be >= 1`);
  if (!Number.isInteger(defaults.heartbeatSeconds) || defaults.heartbeatSeconds < 10) {
    throw new Error(`task ${def.name}: defaults.heartbeatSeconds must be an integer >= 10 (pg-boss minimum)`);
  }
  checkFlowControl(def.name, def.flowControl);
  const flowControl = def.flowControl ? { flowControl: Object.freeze({ ...def.flowControl }) } : {};
  return Object.freeze({
    name: def.name,
    description: def.description,
    schema: def.schema,
    defaults: Object.freeze(defaults),
    ...flowControl,
    ...(def.internal ? { internal: true } : {}),
    ...(def.partition ? { partition: true } : {}),
  });
}

const positiveInt = (v: unknown, max: number) =>
  v === null || v === undefined || (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max);

/** The bounds `PATCH /v1/queues/{queue}` and the settings table enforce, checked when the type is defined. */
function checkFlowControl(name: string, f: QueueSettingsPatch | undefined): void {
  if (!f) return;
  const bad = (field: string) => new Error(`task ${name}: flowControl.${field} is out of range`);
  if (!positiveInt(f.concurrency, QUEUE_SETTINGS_MAX.concurrency)) throw bad('concurrency');
  if (!positiveInt(f.groupConcurrency, QUEUE_SETTINGS_MAX.concurrency)) throw bad('groupConcurrency');
  if (f.rate && !positiveInt(f.rate.limit, QUEUE_SETTINGS_MAX.rateLimit)) throw bad('rate.limit');
  if (f.rate && !positiveInt(f.rate.periodSeconds, QUEUE_SETTINGS_MAX.ratePeriodSeconds)) throw bad('rate.periodSeconds');
}
