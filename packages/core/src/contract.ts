/**
 * The HTTP API's wire shapes, defined once: the API builds them, the client SDK (type-only import)
 * and the tests read them. Request bodies are the zod schemas in apps/api (they generate the OpenAPI
 * document); these are the answers.
 */
import type { PriorityName } from './priority.ts';
import type { TaskState } from './tasks/envelope.ts';

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
  idempotencyKey: string | null;
  traceparent: string | null;
  deadLetterQueue: string | null;
  /** For a task in a dead-letter queue: where it failed. */
  source: { queue: string; id: string } | null;
  statusUrl: string;
}
