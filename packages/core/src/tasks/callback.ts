/**
 * Completion callbacks: a task submitted with `"callback": { "url": "https://…" }` keeps it in its
 * envelope (`data.callback`). When the task ends — completed, failed or dead-lettered, cancelled —
 * a row trigger on pg-boss's job table (migration 000013, `taskfleet_task_callback`) inserts a
 * `taskfleet.callback` task in the same transaction as the state change, so the hand-off is as
 * durable as the end itself and costs nothing for tasks without a callback. The worker's handler
 * POSTs the task's view to the URL, signed like `http.request`, through the same SSRF guard; it is
 * retried with backoff, and a delivery that never succeeds ends in `taskfleet.callback.dead`.
 */
import { z } from 'zod';
import { defineTask } from './define.ts';

/** The internal task type (and queue) of callback deliveries. The trigger names it too (migration 000013). */
export const CALLBACK_TASK_NAME = 'taskfleet.callback';

/** The `callback` option of an enqueue request. */
export const callbackOptionSchema = z
  .strictObject({
    url: z.url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' }).max(2048),
  })
  .describe(
    'When the task ends (completed, failed or dead-lettered, cancelled), POST its view (the JSON of GET …/tasks/{id}) to `url`: signed like http.request (X-Taskfleet-Signature), with X-Taskfleet-Task-Id, X-Taskfleet-Queue and X-Taskfleet-Event; retried with backoff, at least once; failed deliveries end in taskfleet.callback.dead.',
  );
export type TaskCallback = z.output<typeof callbackOptionSchema>;

/** The pg-boss state a task ended in, as the trigger records it. */
export const CALLBACK_END_STATES = ['completed', 'failed', 'cancelled'] as const;

export const callbackTask = defineTask({
  name: CALLBACK_TASK_NAME,
  description:
    "Internal: POSTs a finished task's view to the callback URL it was submitted with (signed, SSRF-guarded). Made by the fleet when a task ends; not accepted from clients.",
  internal: true,
  schema: z.strictObject({
    /** The finished task. */
    queue: z.string().min(1).max(200),
    id: z.uuid(),
    /** The pg-boss state it ended in (the event); its view is read when the callback is delivered. */
    state: z.enum(CALLBACK_END_STATES),
  }),
  defaults: {
    priority: 'normal',
    maxAttempts: 12,
    retryDelaySeconds: 5,
    retryBackoff: true,
    retryDelayMaxSeconds: 900,
    timeoutSeconds: 30,
  },
});
