/**
 * The taskfleet client: `createClient({ baseUrl, apiKey })`, then
 * `client.enqueue('http.request', { url }, { priority: 'high' })` — task names and payloads typed by
 * the task map mirrored in types.ts (no runtime dependency, so any Node 20+ or browser service can
 * use it).
 *
 * Retries: 429 and 503 are retried after their Retry-After (capped); connection failures are retried
 * too, because every enqueue carries an idempotency key (the caller's, or one generated per call), so a
 * repeat can only return the task the first attempt created. Other errors throw `TaskfleetError`
 * carrying the problem+json body.
 */
import { SCHEDULE_ROUTES, type ScheduleClient, scheduleClient } from './schedules.ts';
import { transportMessage } from './transport-errors.ts';
import { type WaitForOptions, waitForTask } from './wait-for.ts';
import type {
  BatchResult,
  EnqueueReceipt,
  Priority,
  Problem,
  QueueInfo,
  QueueSettingsPatch,
  Task,
  TaskName,
  TaskPayloads,
  TaskState,
  WorkerInfo,
} from './types.ts';

export type { ScheduleClient, ScheduleInput } from './schedules.ts';
export type {
  BatchItemResult,
  BatchResult,
  EnqueueReceipt,
  FieldError,
  JsonValue,
  Priority,
  Problem,
  QueueInfo,
  QueueSettings,
  QueueSettingsPatch,
  Schedule,
  Task,
  TaskDedupe,
  TaskName,
  TaskPayloads,
  TaskState,
  WorkerInfo,
} from './types.ts';
export type { WaitForOptions } from './wait-for.ts';

export interface EnqueueOptions {
  priority?: Priority;
  /** Run at this time (ISO 8601 with zone, or a Date). */
  runAt?: string | Date;
  delaySeconds?: number;
  maxAttempts?: number;
  timeoutSeconds?: number;
  /** Same key, same task: a repeat answers the original. Generated per call when omitted. */
  idempotencyKey?: string;
  /** The fairness group (queue setting groupConcurrency); defaults to the API key's name. */
  group?: string;
  /** A dedup window: throttle keeps the window's first task, debounce runs its last one. Replaces the generated idempotency key. */
  dedupe?: { key: string; seconds: number; mode?: 'throttle' | 'debounce' };
  /** POST the task's view (signed) to this http(s) URL when the task ends: completed, dead-lettered or cancelled. */
  callback?: { url: string };
  /** Run only once these tasks (ids, any queue) have completed; cancelled if one fails or is cancelled. */
  dependsOn?: string[];
}

/** A non-2xx answer (after retries), with its problem+json body; or a transport failure (status 0). */
export class TaskfleetError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;
  constructor(message: string, status: number, problem?: Problem, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TaskfleetError';
    this.status = status;
    this.problem = problem;
  }
}

export interface ClientOptions {
  baseUrl: string;
  apiKey?: string;
  /** Attempts per call for retryable answers and connection failures. @defaultValue 5 */
  maxAttempts?: number;
  /** Upper bound on one wait between attempts. @defaultValue 10_000 */
  maxRetryDelayMs?: number;
  /** Per-request timeout. @defaultValue 30_000 */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Every route the client calls: method and OpenAPI path template (a test checks them against /openapi.json). */
export const CLIENT_ROUTES = {
  enqueue: ['post', '/v1/queues/{queue}/tasks'],
  enqueueBatch: ['post', '/v1/queues/{queue}/tasks:batch'],
  get: ['get', '/v1/queues/{queue}/tasks/{id}'],
  list: ['get', '/v1/queues/{queue}/tasks'],
  cancel: ['post', '/v1/queues/{queue}/tasks/{id}:cancel'],
  retry: ['post', '/v1/queues/{queue}/tasks/{id}:retry'],
  queues: ['get', '/v1/queues'],
  queue: ['get', '/v1/queues/{queue}'],
  redrive: ['post', '/v1/queues/{queue}/dead-letter:redrive'],
  whoami: ['get', '/v1/me'],
  workers: ['get', '/v1/workers'],
  ...SCHEDULE_ROUTES,
} as const;

type Payload<N extends TaskName> = TaskPayloads[N];

const seg = encodeURIComponent;

export interface TaskfleetClient {
  enqueue<N extends TaskName>(queue: N, payload: Payload<N>, options?: EnqueueOptions): Promise<EnqueueReceipt>;
  /** For task types registered through TASK_MODULES (not in the built-in map): untyped payload. */
  enqueueUntyped(queue: string, payload: unknown, options?: EnqueueOptions): Promise<EnqueueReceipt>;
  enqueueBatch<N extends TaskName>(queue: N, tasks: ({ payload: Payload<N> } & EnqueueOptions)[]): Promise<BatchResult>;
  get(queue: string, id: string): Promise<Task>;
  list(
    queue: string,
    options?: { state?: TaskState | TaskState[]; limit?: number; cursor?: string },
  ): Promise<{ tasks: Task[]; nextCursor: string | null }>;
  cancel(queue: string, id: string): Promise<Task>;
  retry(queue: string, id: string): Promise<Task>;
  queues(): Promise<QueueInfo[]>;
  queue(name: string): Promise<QueueInfo>;
  /** Pause/resume a queue or set its fleet-wide concurrency and rate limits (admin key). */
  updateQueue(name: string, patch: QueueSettingsPatch): Promise<QueueInfo>;
  /** Move dead-lettered tasks back into their queue (all, the oldest `limit`, or the given ids). Admin keys only. */
  redrive(queue: string, options?: { limit?: number; ids?: string[] }): Promise<{ queue: string; deadLetterQueue: string; moved: number }>;
  whoami(): Promise<{ name: string; scopes: string[] }>;
  /** Worker replicas seen in the last 30 s. */
  workers(): Promise<{ workers: WorkerInfo[]; totals: { replicas: number; slots: number; active: number } }>;
  /** Until the task has ended (completed, dead_lettered, failed, cancelled), by long-poll (wait-for.ts). */
  waitFor(queue: string, id: string, options?: WaitForOptions): Promise<Task>;
  /** Recurring schedules: `client.schedules.set/get/list/delete` (schedules.ts). */
  schedules: ScheduleClient;
}

type Call = <T>(method: string, path: string, body?: unknown, opts?: { retryTransport?: boolean }) => Promise<T>;

/**
 * One request with the client's retries: transport errors are retried for GETs (and for the
 * idempotent POSTs that ask for it), 429/503 after Retry-After or a jittered backoff; any other
 * error answer becomes a TaskfleetError carrying the problem+json body.
 */
function caller(options: ClientOptions): Call {
  const base = options.baseUrl.replace(/\/+$/, '');
  const maxAttempts = options.maxAttempts ?? 5;
  const maxDelay = options.maxRetryDelayMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const doFetch = options.fetch ?? fetch;

  return async function call<T>(method: string, path: string, body?: unknown, { retryTransport = method === 'GET' } = {}): Promise<T> {
    let lastError: TaskfleetError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        lastError = new TaskfleetError(transportMessage(base, method, path, err), 0, undefined, { cause: err });
        if (!retryTransport || attempt === maxAttempts) throw lastError;
        await sleep(backoff(attempt, maxDelay));
        continue;
      }
      const text = await res.text();
      const parsed = text ? safeJson(text) : undefined;
      if (res.ok) return parsed as T;
      const problem = parsed as Problem | undefined;
      lastError = new TaskfleetError(
        `${method} ${path}: ${res.status} ${problem?.title ?? res.statusText}${problem?.detail ? ` — ${problem.detail}` : ''}`,
        res.status,
        problem,
      );
      if ((res.status === 429 || res.status === 503) && attempt < maxAttempts) {
        const after = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(after) && after > 0 ? Math.min(after * 1000, maxDelay) : backoff(attempt, maxDelay));
        continue;
      }
      throw lastError;
    }
    throw lastError as TaskfleetError;
  };
}

const taskBody = (payload: unknown, o: EnqueueOptions = {}) => ({
  payload,
  ...(o.priority ? { priority: o.priority } : {}),
  ...(o.runAt ? { runAt: o.runAt instanceof Date ? o.runAt.toISOString() : o.runAt } : {}),
  ...(o.delaySeconds !== undefined ? { delaySeconds: o.delaySeconds } : {}),
  ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
  ...(o.timeoutSeconds !== undefined ? { timeoutSeconds: o.timeoutSeconds } : {}),
  ...(o.group !== undefined ? { group: o.group } : {}),
  // A dedupe key identifies the task itself; an explicit idempotency key beside it is refused by the API.
  ...(o.dedupe ? { dedupe: o.dedupe } : {}),
  ...(o.callback ? { callback: o.callback } : {}),
  ...(o.dependsOn ? { dependsOn: o.dependsOn } : {}),
  ...(o.dedupe && !o.idempotencyKey ? {} : { idempotencyKey: o.idempotencyKey ?? crypto.randomUUID() }),
});

export function createClient(options: ClientOptions): TaskfleetClient {
  const call = caller(options);
  const enqueueUntyped = (queue: string, payload: unknown, o?: EnqueueOptions) =>
    call<EnqueueReceipt>('POST', `/v1/queues/${seg(queue)}/tasks`, taskBody(payload, o), { retryTransport: true });

  const client: TaskfleetClient = {
    enqueue: (queue, payload, o) => enqueueUntyped(queue, payload, o),
    enqueueUntyped,
    enqueueBatch: (queue, tasks) =>
      call(
        'POST',
        `/v1/queues/${seg(queue)}/tasks:batch`,
        { tasks: tasks.map(({ payload, ...o }) => taskBody(payload, o)) },
        { retryTransport: true },
      ),
    get: (queue, id) => call('GET', `/v1/queues/${seg(queue)}/tasks/${seg(id)}`),
    list: (queue, o = {}) => {
      const q = new URLSearchParams();
      if (o.state) q.set('state', Array.isArray(o.state) ? o.state.join(',') : o.state);
      if (o.limit) q.set('limit', String(o.limit));
      if (o.cursor) q.set('cursor', o.cursor);
      const qs = q.toString();
      return call('GET', `/v1/queues/${seg(queue)}/tasks${qs ? `?${qs}` : ''}`);
    },
    cancel: (queue, id) => call('POST', `/v1/queues/${seg(queue)}/tasks/${seg(id)}:cancel`, undefined, { retryTransport: true }),
    retry: (queue, id) => call('POST', `/v1/queues/${seg(queue)}/tasks/${seg(id)}:retry`, undefined, { retryTransport: true }),
    queues: async () => (await call<{ queues: QueueInfo[] }>('GET', '/v1/queues')).queues,
    queue: (name) => call('GET', `/v1/queues/${seg(name)}`),
    updateQueue: (name, patch) => call('PATCH', `/v1/queues/${seg(name)}`, patch, { retryTransport: true }),
    redrive: (queue, o = {}) => call('POST', `/v1/queues/${seg(queue)}/dead-letter:redrive`, o),
    whoami: () => call('GET', '/v1/me'),
    workers: () => call('GET', '/v1/workers'),
    schedules: scheduleClient(call),
    waitFor: (queue, id, o = {}) =>
      waitForTask(
        (path) => call('GET', path),
        `/v1/queues/${seg(queue)}/tasks/${seg(id)}`,
        o,
        options.timeoutMs ?? 30_000,
        (state, ms) => new TaskfleetError(`task ${id} still ${state} after ${ms} ms`, 0),
      ),
  };
  return client;
}

function backoff(attempt: number, max: number): number {
  return Math.min(max, 200 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { title: text.slice(0, 200) };
  }
}
