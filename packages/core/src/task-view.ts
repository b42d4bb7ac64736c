/**
 * The public JSON shape of a task (status endpoint, listings, enqueue answers, callback bodies),
 * built in one place from a stored row: the API answers it and the worker POSTs it to callbacks.
 */
import type { TaskView } from './contract.ts';
import { priorityName } from './priority.ts';
import type { TaskRow } from './store/tasks.ts';
import { taskState } from './tasks/envelope.ts';

/** The status URL of a task; `base` '' gives a path (the worker without API_PUBLIC_URL). */
export function taskUrl(base: string, queue: string, id: string): string {
  return `${base}/v1/queues/${encodeURIComponent(queue)}/tasks/${id}`;
}

function iso(d: Date | null): string | null {
  return d ? new Date(d).toISOString() : null;
}

/** Attempts started so far: pg-boss counts retries; a task that ran or runs has one more. */
function attemptsOf(row: TaskRow): number {
  if (row.state === 'active' || row.state === 'completed' || row.state === 'failed') return row.retryCount + 1;
  if (row.state === 'retry') return row.retryCount;
  return row.startedOn ? row.retryCount + 1 : row.retryCount;
}

/** A task cancelled because a dependency failed or was cancelled (migration 000014 writes the reason as its output). */
function cancelledByDependency(row: TaskRow): boolean {
  return row.state === 'cancelled' && (row.output as { cancelReason?: unknown } | null)?.cancelReason === 'dependency';
}

export function toTaskView(row: TaskRow, base: string): TaskView {
  const failedish = row.state === 'failed' || row.state === 'retry' || cancelledByDependency(row);
  const meta = row.data?.meta;
  return {
    id: row.id,
    queue: row.name,
    state: taskState(row),
    priority: priorityName(row.priority),
    attempts: attemptsOf(row),
    maxAttempts: row.retryLimit + 1,
    createdAt: iso(row.createdOn) as string,
    runAt: iso(row.startAfter) as string,
    startedAt: iso(row.startedOn),
    finishedAt: iso(row.completedOn),
    payload: row.data?.payload ?? null,
    output: failedish ? null : (row.output ?? null),
    lastError: failedish ? (row.output ?? null) : null,
    progress: (row.progress ?? null) as TaskView['progress'],
    idempotencyKey: meta?.idempotencyKey ?? null,
    dedupe: meta?.dedupe ?? null,
    group: row.groupId ?? null,
    traceparent: meta?.traceparent ?? null,
    callback: row.data?.callback ? { url: row.data.callback.url } : null,
    deadLetterQueue: row.state === 'failed' && row.deadLetter ? row.deadLetter : null,
    source: row.sourceName && row.sourceId ? { queue: row.sourceName, id: row.sourceId } : null,
    dependsOn: row.dependsOn ?? [],
    statusUrl: taskUrl(base, row.name, row.id),
  };
}
