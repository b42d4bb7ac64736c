/**
 * `client.waitFor(queue, id)`: until the task has ended (completed, failed, dead_lettered,
 * cancelled), by long-poll — `GET …/tasks/{id}?waitSeconds=` answers as soon as the task ends, so
 * there is no polling interval to trade against latency. Each request waits at most 25 s (or less
 * than the client's request timeout); a replica at its long-poll limit (503, after the client's own
 * retries) is answered with a plain read and a pause instead.
 */
import type { Task, TaskState } from './types.ts';

export interface WaitForOptions {
  /** Give up (throw) after this long. @defaultValue 60 */
  timeoutSeconds?: number;
  /** The same in milliseconds (`timeoutSeconds` wins). */
  timeoutMs?: number;
  /** Pause between plain reads when a replica refuses a long-poll. @defaultValue 1000 */
  intervalMs?: number;
}

export const FINAL_STATES: readonly TaskState[] = ['completed', 'dead_lettered', 'failed', 'cancelled'];

/** A GET through the client (its retries, auth and errors); `status` on what it throws. */
type Get = (path: string) => Promise<Task>;

export async function waitForTask(
  get: Get,
  path: string,
  options: WaitForOptions,
  requestTimeoutMs: number,
  timedOut: (state: TaskState, ms: number) => Error,
): Promise<Task> {
  const totalMs = options.timeoutSeconds !== undefined ? options.timeoutSeconds * 1000 : (options.timeoutMs ?? 60_000);
  const deadline = Date.now() + totalMs;
  // Leave the request timeout room for the answer to travel.
  const perRequest = Math.max(0, Math.min(25, Math.floor(requestTimeoutMs / 1000) - 5));
  for (;;) {
    const left = Math.floor((deadline - Date.now()) / 1000);
    const wait = Math.max(0, Math.min(perRequest, left));
    let task: Task;
    try {
      task = await get(wait > 0 ? `${path}?waitSeconds=${wait}` : path);
    } catch (err) {
      if ((err as { status?: number }).status !== 503) throw err;
      task = await get(path);
      if (!FINAL_STATES.includes(task.state)) await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
    }
    if (FINAL_STATES.includes(task.state)) return task;
    if (Date.now() >= deadline) throw timedOut(task.state, totalMs);
    if (wait === 0) await new Promise((r) => setTimeout(r, Math.min(options.intervalMs ?? 1000, Math.max(0, deadline - Date.now()))));
  }
}
