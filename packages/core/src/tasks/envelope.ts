/**
 * What a stored task looks like: pg-boss keeps `data` as JSON; taskfleet stores the submitter's
 * payload beside its own metadata so the worker and the status endpoints can use both.
 */
export interface TaskMeta {
  /** API key id that submitted the task (`null` when auth is disabled). */
  submitter: string | null;
  /** `X-Request-Id` of the submitting request. */
  requestId?: string;
  /** W3C trace context of the submitting request, so the worker can log under the same trace. */
  traceparent?: string;
  idempotencyKey?: string;
  /** Hash of the submitted request, to tell an idempotent repeat from a conflicting reuse of a key. */
  requestHash?: string;
  /** Per-task override of the type's attempt deadline. */
  timeoutSeconds?: number;
  /** Name of the schedule that fired the task (`PUT /v1/schedules/{name}`). */
  schedule?: string;
  /** The schedule's slot the task is for (ISO 8601, UTC). */
  slot?: string;
  /** The dedup window the task stands for (enqueue `dedupe`). */
  dedupe?: TaskDedupe;
}

export interface TaskDedupe {
  key: string;
  mode: 'throttle' | 'debounce';
  /** End of the task's window (ISO 8601); a debounced task runs then. */
  windowEnd: string;
}

export interface TaskEnvelope<P = unknown> {
  payload: P;
  meta: TaskMeta;
  /**
   * Where to POST the task's view when it ends (tasks/callback.ts). A top-level key, so the trigger
   * that hands the end over to a delivery can test it cheaply (`data ? 'callback'`).
   */
  callback?: { url: string };
}

export function isTaskEnvelope(data: unknown): data is TaskEnvelope {
  return typeof data === 'object' && data !== null && 'payload' in data && 'meta' in data;
}

/**
 * The public lifecycle of a task, derived from pg-boss's job state:
 * `waiting` (for its dependencies to complete: `dependsOn`), `scheduled` (waiting for runAt),
 * `queued` (ready), `running`, `retrying` (waiting for a retry),
 * `completed`, `failed` (no retries left, no dead-letter queue), `dead_lettered` (failed and copied
 * to the dead-letter queue), `cancelled`.
 */
export const TASK_STATES = [
  'waiting',
  'scheduled',
  'queued',
  'running',
  'retrying',
  'completed',
  'failed',
  'dead_lettered',
  'cancelled',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** pg-boss job states each public state covers (for listings by state). */
export const PGBOSS_STATES_FOR: Record<TaskState, readonly string[]> = {
  waiting: ['created'],
  scheduled: ['created'],
  queued: ['created'],
  running: ['active'],
  retrying: ['retry'],
  completed: ['completed'],
  failed: ['failed'],
  dead_lettered: ['failed'],
  cancelled: ['cancelled'],
};

export function taskState(
  job: { state: string; startAfter: Date; deadLetter?: string | null; blocked?: boolean },
  now = new Date(),
): TaskState {
  switch (job.state) {
    case 'created':
      if (job.blocked) return 'waiting';
      return job.startAfter.getTime() > now.getTime() ? 'scheduled' : 'queued';
    case 'retry':
      return 'retrying';
    case 'active':
      return 'running';
    case 'completed':
      return 'completed';
    case 'cancelled':
      return 'cancelled';
    case 'failed':
      return job.deadLetter ? 'dead_lettered' : 'failed';
    default:
      return 'failed';
  }
}
