/**
 * The HTTP API's wire shapes, defined once: the API builds them, the client SDK (type-only import)
 * and the tests read them. Request bodies are the zod schemas in apps/api (they generate the OpenAPI
 * document); these are the answers.
 */
import type { PriorityName } from './priority.ts';
import type { WorkerPresence } from './store/presence.ts';
import type { QueueSettings } from './store/queue-settings.ts';
import type { TaskDedupe, TaskState } from './tasks/envelope.ts';

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

/** The public JSON shape of a task (status endpoint, listings, duplicate-key answers). */
export interface TaskView<P = unknown> {
  id: string;
  queue: string;
  state: TaskState;
  priority: PriorityName;
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
  /** The dedup window the task stands for (enqueue `dedupe`). */
  dedupe: TaskDedupe | null;
  /** The fairness group: as submitted, else the submitting API key's name (null: anonymous). */
  group: string | null;
  traceparent: string | null;
  /** Where the fleet POSTs this view when the task ends (null: no callback). */
  callback: { url: string } | null;
  deadLetterQueue: string | null;
  /** For a task in a dead-letter queue: where it failed. */
  source: { queue: string; id: string } | null;
  /** The tasks this one waits for (enqueue `dependsOn`); it runs once all have completed. */
  dependsOn: { queue: string; id: string }[];
  statusUrl: string;
}

/** `202` answer of `POST /v1/queues/{queue}/tasks` (a repeated idempotency key answers the full `TaskView`, `200`). */
export interface EnqueueReceipt {
  id: string;
  queue: string;
  /** `waiting` / `cancelled`: only for tasks with `dependsOn` (cancelled: a dependency already failed or was cancelled). */
  state: Extract<TaskState, 'queued' | 'scheduled' | 'waiting' | 'cancelled'>;
  statusUrl: string;
}

/**
 * `duplicate`: an idempotent repeat, or the task a throttle window already holds; `replaced`: the debounced task of the window now carries this item;
 * `unavailable`: the item's shard did not answer — not acknowledged, send it again (only with several shards).
 */
export type BatchItemStatus = 'accepted' | 'duplicate' | 'replaced' | 'conflict' | 'invalid' | 'unavailable';

/** One item of a batch answer, by its index in the request. */
export interface BatchItemResult {
  index: number;
  status: BatchItemStatus;
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

/** One queue in `GET /v1/queues` (`{ queues: QueueInfo[] }`) and `GET /v1/queues/{queue}`. */
export interface QueueInfo {
  name: string;
  kind: 'tasks' | 'dead-letter';
  description: string | null;
  deadLetterQueue: string | null;
  depth: Record<'ready' | 'scheduled' | 'retrying' | 'running' | 'completed' | 'failed' | 'cancelled', number>;
  oldestReadyAgeSeconds: number | null;
  /** Fleet-wide flow control (`PATCH /v1/queues/{queue}`). */
  settings: QueueSettingsView;
}

/** A queue's fleet-wide flow control as the API shows it: the store's settings without their timestamp. */
export type QueueSettingsView = Omit<QueueSettings, 'updatedAt'>;

/**
 * One worker replica as `GET /v1/workers` shows it: the store's `WorkerInfo` row (store/presence.ts)
 * with its timestamps as ISO strings.
 */
export interface WorkerView extends WorkerPresence {
  startedAt: string;
  seenAt: string;
}

/** Answer of `GET /v1/workers`. */
export interface WorkerList {
  workers: WorkerView[];
  totals: { replicas: number; slots: number; active: number };
}

/** One recurring schedule (`PUT/GET /v1/schedules/{name}`; `GET /v1/schedules` answers `{ schedules: ScheduleView[] }`). */
export interface ScheduleView {
  name: string;
  queue: string;
  /** 5 fields: minute hour day-of-month month day-of-week. */
  cron: string;
  /** IANA time zone the expression is evaluated in. */
  timezone: string;
  payload: unknown;
  /** Enqueue options of each task; `group` defaults to the setting API key's name. */
  options: { priority?: PriorityName; maxAttempts?: number; timeoutSeconds?: number; group?: string };
  /** The next slot (ISO 8601): its task is inserted within SCHEDULER_INTERVAL_MS of it. */
  nextRunAt: string;
  lastRunAt: string | null;
  lastTaskId: string | null;
  createdAt: string;
  updatedAt: string;
}
