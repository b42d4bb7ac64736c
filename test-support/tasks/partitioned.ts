/**
 * `test.partitioned`: a task type whose queue has a table of its own (`partition: true`), loaded
 * through TASK_MODULES by the partitioned-queue test. Behaves like noop: sleeps, echoes, reports
 * progress or fails permanently on request.
 */
import { defineTask } from '@taskfleet/core';
import { z } from 'zod';
import { PermanentError, type TaskContext } from '@taskfleet/worker';

export const partitionedTask = defineTask({
  name: 'test.partitioned',
  description: 'A no-op in a queue with a table of its own. Tests only.',
  schema: z.strictObject({
    sleepMs: z.number().int().min(0).max(60_000).default(0),
    echo: z.json().optional(),
    progress: z.number().min(0).max(100).optional(),
    failPermanently: z.boolean().default(false),
  }),
  defaults: { maxAttempts: 2, retryDelaySeconds: 1, retryBackoff: false, timeoutSeconds: 10 },
  partition: true,
});

type Payload = z.output<typeof partitionedTask.schema>;

async function handle(payload: Payload, ctx: TaskContext): Promise<unknown> {
  if (payload.progress !== undefined) ctx.progress(payload.progress);
  if (payload.sleepMs > 0) await new Promise((r) => setTimeout(r, payload.sleepMs));
  if (payload.failPermanently) throw new PermanentError('told to fail');
  return payload.echo === undefined ? null : { echo: payload.echo };
}

export const tasks = [{ definition: partitionedTask, handle }];
