/**
 * The long-poll side of `GET /v1/queues/{queue}/tasks/{id}`: with `waitSeconds` (1–60) the answer
 * waits for the task to end (waiters.ts), then is the same task view as without, with
 * `X-Wait-Outcome: ended | timeout | shutdown`. `waitSeconds=0` (or absent) answers at once.
 */
import { z } from '@hono/zod-openapi';
import type { Config } from '@taskfleet/core';
import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { canSee, principalOf } from '../middleware/auth.ts';
import { problems } from '../problem.ts';
import { toTaskView } from '../task-view.ts';
import { baseUrl } from '../routes/base-url.ts';
import type { TaskWaiters } from './waiters.ts';

/** The longest wait one request may ask for. */
export const MAX_WAIT_SECONDS = 60;

export const waitQuery = z.object({
  waitSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .describe(
      'Long-poll: answer as soon as the task has ended, or after this many seconds with its state then (0–60; 0 or absent: at once). A replica holds at most API_LONG_POLL_MAX_WAITERS of these at once (beyond: 503 with Retry-After).',
    ),
});

const OUTCOME_HEADER = 'X-Wait-Outcome';

/**
 * Aborts when the client goes away before its answer. Under @hono/node-server from Node's own
 * response ('close' before it finished): `c.req.raw.signal` would build a web Request (headers
 * copied, its own AbortController) per waiter, most of a waiter's memory.
 */
function clientGone(c: Context<AppEnv>): AbortSignal {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (!outgoing) return c.req.raw.signal;
  const controller = new AbortController();
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) controller.abort();
  });
  return controller.signal;
}

export const waitRoute = {
  /** The 200 answer: the task, and the wait's outcome header. */
  okResponse<S extends z.ZodType>(schema: S) {
    return {
      description: 'The task',
      headers: {
        [OUTCOME_HEADER]: {
          description:
            'With `waitSeconds` only: `ended` (the task has ended), `timeout` (the wait ran out), `shutdown` (the replica is stopping)',
          schema: { type: 'string' as const, enum: ['ended', 'timeout', 'shutdown'] },
        },
      },
      content: { 'application/json': { schema } },
    };
  },

  /** `waitSeconds` as sent: an integer 0–60, else a 422 naming the field. */
  seconds(raw: string | undefined): number {
    if (raw === undefined || raw === '') return 0;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > MAX_WAIT_SECONDS)
      throw problems.validation([{ field: 'waitSeconds', message: `must be an integer from 0 to ${MAX_WAIT_SECONDS}` }]);
    return n;
  },

  async answer(
    c: Context<AppEnv>,
    args: { config: Config; waiters: TaskWaiters; queue: string; id: string; waitSeconds: number },
  ): Promise<Response> {
    const principal = principalOf(c);
    const result = await args.waiters.wait(args.queue, args.id, args.waitSeconds, clientGone(c), (row) =>
      canSee(principal, row.data?.meta?.submitter),
    );
    if (!result) throw problems.notFound('No task with this id in this queue (or not visible to this API key).');
    c.header(OUTCOME_HEADER, result.outcome);
    return c.json(toTaskView(result.row, baseUrl(c, args.config)));
  },
};
