/**
 * The wire shapes the client exposes, owned here so the published package (and its .d.ts) stands
 * alone: a consumer has no `@taskfleet/core`. They mirror packages/core's contract.ts and task map;
 * packages/client/test/core-types.check.ts fails the typecheck when the two drift apart.
 */

export type Priority = 'critical' | 'high' | 'normal' | 'low';

export type TaskState =
  | 'waiting'
  | 'scheduled'
  | 'queued'
  | 'running'
  | 'retrying'
  | 'completed'
  | 'failed'
  | 'dead_lettered'
  | 'cancelled';

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface FieldError {
  /** Dotted path of the bad field, e.g. `payload.url` or `tasks[3].priority`. */
  field: string;
  message: string;
}

/** RFC 9457 problem+json: every error answer. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** The dedup window a task stands for (enqueue `dedupe`). */
export interface TaskDedupe {
  key: string;
  mode: 'throttle' | 'debounce';
  /** End of the task's window (ISO 8601); a debounced task runs then. */
  windowEnd: string;
}

/** A task as the API shows it (status endpoint, listings, duplicate-key answers). */
export interface Task<P = unknown> {
  id: string;
  queue: string;
  state: TaskState;
  priority: Priority;
  attempts: number;
  maxAttempts: number;
  createdAt: string;
  runAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  payload: P;
  output: unknown;
  lastError: unknown;
  /** What the handler last reported with `ctx.progress()`: 0–100 or a small object (null: nothing reported). */
  progress: number | Record<string, unknown> | null;
  idempotencyKey: string | null;
  dedupe: TaskDedupe | null;
  /** The fairness group: as submitted, else the submitting API key's name (null: anonymous). */
  group: string | null;
  traceparent: string | null;
  /** Where the fleet POSTs this view when the task ends (null: no callback). */
  callback: { url: string } | null;
  deadLetterQueue: string | null;
  /** For a task in a dead-letter queue: where it failed. */
  source: { queue: string; id: string } | null;
  /** The tasks this one waits for (enqueue `dependsOn`). */
  dependsOn: { queue: string; id: string }[];
  statusUrl: string;
}

/** One item of a batch answer, by its index in the request. */
export interface BatchItemResult {
  index: number;
  status: 'accepted' | 'duplicate' | 'replaced' | 'conflict' | 'invalid' | 'unavailable';
  id?: string;
  statusUrl?: string;
  /** For `invalid` items. */
  errors?: FieldError[];
  /** For `unavailable` items: the shard whose database did not answer. */
  shard?: number;
}

/** Answer of `POST /v1/queues/{queue}/tasks:batch`: counts by status, then one result per item. */
export interface BatchResult {
  accepted: number;
  duplicate: number;
  conflict: number;
  invalid: number;
  replaced: number;
  /** Only when some items' shard did not answer. */
  unavailable?: number;
  results: BatchItemResult[];
}

/** One recurring schedule (`PUT/GET /v1/schedules/{name}`). */
export interface Schedule {
  name: string;
  queue: string;
  /** 5 fields: minute hour day-of-month month day-of-week. */
  cron: string;
  /** IANA time zone the expression is evaluated in. */
  timezone: string;
  payload: unknown;
  options: { priority?: Priority; maxAttempts?: number; timeoutSeconds?: number; group?: string };
  /** The next slot (ISO 8601). */
  nextRunAt: string;
  lastRunAt: string | null;
  lastTaskId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What enqueue answers: the task's id, state and status URL (a repeated idempotency key answers the full task). */
export interface EnqueueReceipt {
  id: string;
  queue: string;
  state: TaskState;
  statusUrl: string;
}

/** A queue's fleet-wide flow control (`PATCH /v1/queues/{queue}`). */
export interface QueueSettings {
  paused: boolean;
  /** Tasks of the queue running at once across every worker replica; null: unlimited. */
  concurrency: number | null;
  /** Task starts per period across the fleet; null: unlimited. */
  rate: { limit: number; periodSeconds: number } | null;
  /** Tasks of one group running at once across the fleet, groups served in turn; null: no per-group limit. */
  groupConcurrency: number | null;
}

/** A change to a queue's settings: absent fields stay, null clears a limit. */
export type QueueSettingsPatch = Partial<QueueSettings>;

export interface QueueInfo {
  name: string;
  kind: 'tasks' | 'dead-letter';
  description: string | null;
  deadLetterQueue: string | null;
  depth: Record<'ready' | 'scheduled' | 'retrying' | 'running' | 'completed' | 'failed' | 'cancelled', number>;
  oldestReadyAgeSeconds: number | null;
  settings: QueueSettings;
}

export interface WorkerInfo {
  id: string;
  hostname: string;
  pid: number;
  queues: string[];
  concurrency: number;
  active: number;
  startedAt: string;
  seenAt: string;
}

/** Payloads of the built-in task types, as a request may send them (defaults may be left out). */
export interface TaskPayloads {
  'http.request': {
    url: string;
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    headers?: Record<string, string>;
    /** Any JSON value; sent as application/json. */
    body?: JsonValue;
  };
  noop: {
    sleepMs?: number;
    /** Fail this many first attempts with a retryable error. */
    failAttempts?: number;
    /** Fail with an error that skips retries. */
    failPermanently?: boolean;
    /** Report each value with ctx.progress(), `intervalMs` apart. */
    progress?: { values: JsonValue[]; intervalMs?: number };
    /** Echoed back as the task's output. */
    echo?: JsonValue;
  };
  'taskfleet.callback': { queue: string; id: string; state: 'completed' | 'failed' | 'cancelled' };
}

export type TaskName = keyof TaskPayloads;
