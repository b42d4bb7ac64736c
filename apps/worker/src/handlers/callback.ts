/**
 * `taskfleet.callback`: POST a finished task's view to the callback URL it was submitted with. The
 * delivery task is made by a trigger in the transaction that ends the task (packages/core
 * tasks/callback.ts); this handler reads the task as it is now and sends the same JSON as
 * `GET /v1/queues/{queue}/tasks/{id}` (its statusUrl absolute with API_PUBLIC_URL, a path without).
 * It goes through http.request's sender: the same SSRF guard (a refused target is a permanent
 * failure, so the delivery ends in `taskfleet.callback.dead`), the same signature header and the
 * same answer handling (2xx done; 5xx, 408, 429, network errors retried with backoff).
 */
import {
  callbackTask,
  type Config,
  type ExecuteSql,
  getTask,
  isDeadLetterQueue,
  type TaskCallback,
  taskState,
  toTaskView,
} from '@taskfleet/core';
import { PermanentError } from '../errors.ts';
import { type HttpSender, SIGNATURE_HEADER, signature } from './http-sender.ts';
import { defineHandler, type HandlerEntry } from './types.ts';

/** The event named in `X-Taskfleet-Event`: the public state the task ended in. */
function eventOf(state: 'completed' | 'failed' | 'cancelled', deadLetter: string | null): string {
  return state === 'failed' && deadLetter ? 'dead_lettered' : state;
}

/** `taskReads`: the databases that may hold a task, the likeliest first (the shard its id names). */
export function createCallbackHandler(config: Config, taskReads: (taskId: string) => ExecuteSql[], sender: HttpSender): HandlerEntry {
  const base = config.api.publicUrl?.replace(/\/$/, '') ?? '';
  return defineHandler(callbackTask, async (payload, ctx) => {
    // A dead-letter copy carries its task's data, callback included; the task itself already called back.
    if (isDeadLetterQueue(payload.queue)) return { skipped: 'dead-letter copy' };
    let row: Awaited<ReturnType<typeof getTask>>;
    for (const executeSql of taskReads(payload.id)) {
      row = await getTask(executeSql, payload.queue, payload.id);
      if (row) break;
    }
    if (!row) throw new PermanentError(`task ${payload.id} in ${payload.queue} no longer exists; nothing to call back with`);
    const callback = (row.data as { callback?: TaskCallback } | null)?.callback;
    if (!callback?.url) throw new PermanentError(`task ${payload.id} in ${payload.queue} has no callback URL`);
    const url = new URL(callback.url);
    sender.checkTarget(url);
    const view = toTaskView(row, base);
    const body = JSON.stringify(view);
    const event = eventOf(payload.state, row.deadLetter);
    const headers: Record<string, string> = {
      'user-agent': 'taskfleet/0.1 (+callback)',
      'content-type': 'application/json',
      // Delivery is at least once: the receiver can drop a repeat of this delivery by its id.
      'idempotency-key': ctx.jobId,
      'x-taskfleet-delivery-id': ctx.jobId,
      'x-taskfleet-task-id': payload.id,
      'x-taskfleet-queue': payload.queue,
      'x-taskfleet-event': event,
      'x-taskfleet-attempt': String(ctx.attempt),
    };
    if (ctx.traceparent) headers.traceparent = ctx.traceparent;
    if (config.httpRequest.signingSecret) headers[SIGNATURE_HEADER] = signature(config.httpRequest.signingSecret, body);
    const delivered = await sender.send(url, 'POST', headers, body, ctx.signal);
    ctx.logger.debug({ task: payload.id, taskQueue: payload.queue, event, status: delivered.status }, 'callback delivered');
    return { ...delivered, task: { queue: payload.queue, id: payload.id, event, state: taskState(row) } };
  });
}
