/** The public JSON shape of a task (status endpoint, listings, enqueue answers). */
import { deadLetterQueueFor, isDeadLetterQueue, priorityName, type TaskView, taskState } from '@taskfleet/core';
import type { TaskRow } from '@taskfleet/core';

export type { TaskView } from '@taskfleet/core';

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

export function toTaskView(row: TaskRow, base: string): TaskView {
  const failedish = row.state === 'failed' || row.state === 'retry';
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
    idempotencyKey: meta?.idempotencyKey ?? null,
    group: row.groupId ?? null,
    traceparent: meta?.traceparent ?? null,
    deadLetterQueue: row.state === 'failed' && row.deadLetter ? row.deadLetter : null,
    source: row.sourceName && row.sourceId ? { queue: row.sourceName, id: row.sourceId } : null,
    statusUrl: taskUrl(base, row.name, row.id),
  };
}

/** The queue a task of this queue dead-letters into, if it is not itself a dead-letter queue. */
export function deadLetterOf(queue: string): string | null {
  return isDeadLetterQueue(queue) ? null : deadLetterQueueFor(queue);
}
