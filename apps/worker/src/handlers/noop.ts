/** `noop`: optionally sleeps (abortably) or fails on request. For tests and benchmarks. */
import { noopTask } from '@taskfleet/core';
import { PermanentError, RetryableError } from '../errors.ts';
import { defineHandler } from './types.ts';

export const noopHandler = defineHandler(noopTask, async (payload, ctx) => {
  if (payload.sleepMs) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, payload.sleepMs);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        },
        { once: true },
      );
    });
  }
  if (payload.failPermanently) throw new PermanentError('noop asked to fail permanently');
  if (payload.failAttempts && ctx.attempt <= payload.failAttempts) throw new RetryableError(`noop asked to fail attempt ${ctx.attempt}`);
  return payload.echo === undefined ? null : { echo: payload.echo };
});
