import { z } from 'zod';
import { defineTask } from './define.ts';

/** Does nothing (optionally sleeps or fails on request): for tests, benchmarks and smoke checks. */
export const noopTask = defineTask({
  name: 'noop',
  description: 'Does nothing; can sleep, fail transiently or permanently on request. For tests and benchmarks.',
  schema: z.strictObject({
    sleepMs: z.number().int().min(0).max(600_000).optional(),
    /** Fail this many first attempts with a retryable error. */
    failAttempts: z.number().int().min(0).max(100).optional(),
    /** Fail with an error that skips retries. */
    failPermanently: z.boolean().optional(),
    /** Report each value with ctx.progress() (checked there: 0–100 or a small object), `intervalMs` apart. */
    progress: z
      .strictObject({ values: z.array(z.json()).min(1).max(1000), intervalMs: z.number().int().min(0).max(60_000).default(0) })
      .optional(),
    /** Echoed back as the task's output. */
    echo: z.json().optional(),
  }),
  defaults: { priority: 'normal', maxAttempts: 3, retryDelaySeconds: 1, timeoutSeconds: 60 },
});
