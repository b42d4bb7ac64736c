/** `noop`: optionally reports progress, sleeps (abortably) or fails on request. For tests and benchmarks. */
import { noopTask } from '@taskfleet/core';
import { PermanentError, RetryableError } from '../errors.ts';
import { defineHandler, type TaskContext } from './types.ts';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function reportProgress(progress: { values: unknown[]; intervalMs: number }, ctx: TaskContext): Promise<void> {
  for (const value of progress.values) {
    ctx.progress(value as never);
    if (progress.intervalMs) await sleep(progress.intervalMs, ctx.signal);
  }
}

export const noopHandler = defineHandler(noopTask, async (payload, ctx) => {
  if (payload.progress) await reportProgress(payload.progress, ctx);
  if (payload.sleepMs) await sleep(payload.sleepMs, ctx.signal);
  if (payload.failPermanently) throw new PermanentError('noop asked to fail permanently');
  if (payload.failAttempts && ctx.attempt <= payload.failAttempts) throw new RetryableError(`noop asked to fail attempt ${ctx.attempt}`);
  return payload.echo === undefined ? null : { echo: payload.echo };
});
