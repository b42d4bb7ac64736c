/**
 * ctx.progress end to end: a real worker runs noop tasks that report progress, the API's status
 * endpoint shows it while they run and after they end, writes are rate-limited per task, and an
 * invalid value fails the handler with a clear error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestWorker, type TestWorker, waitFor } from '../../../test-support/worker.ts';

const db = useTestDatabase();
let api: TestApi;
let worker: TestWorker;
/** Progress writes by task id (the worker's `job:progress` events: one per statement). */
const writes = new Map<string, number>();

beforeAll(async () => {
  api = await startTestApi(db);
  worker = await startTestWorker(db, { WORKER_POLL_INTERVAL_MS: '100' });
  worker.worker.events.on('job:progress', (e) => writes.set(e.id, (writes.get(e.id) ?? 0) + 1));
});
afterAll(async () => {
  await worker?.stop(1);
  await api?.close();
});

async function submit(payload: unknown, options: Record<string, unknown> = {}): Promise<string> {
  const res = await api.request('/v1/queues/noop/tasks', { json: { payload, ...options } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

interface View {
  state: string;
  progress: unknown;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: { error?: { name: string; message: string } } | null;
}
async function view(id: string): Promise<View> {
  return (await (await api.request(`/v1/queues/noop/tasks/${id}`)).json()) as View;
}

const finished = (id: string) => async () => {
  const v = await view(id);
  return ['completed', 'failed', 'dead_lettered'].includes(v.state) ? v : undefined;
};

describe('ctx.progress', () => {
  it('shows a value while the task runs and the last one once it completes; writes stay rate-limited', async () => {
    const values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    const id = await submit({ progress: { values, intervalMs: 250 } });
    const running = await waitFor(async () => {
      const v = await view(id);
      return v.state === 'running' && typeof v.progress === 'number' && v.progress < 100 ? v : undefined;
    }, 'a progress value while running');
    expect(values).toContain(running.progress);
    const done = await waitFor(finished(id), 'the task finished', 30_000);
    expect(done).toMatchObject({ state: 'completed', progress: 100 });
    // At most one write per second per task (at 0, 1, … s of the run), plus the last value flushed before the completion.
    const seconds = (Date.parse(done.finishedAt as string) - Date.parse(done.startedAt as string)) / 1000;
    const count = writes.get(id) ?? 0;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(Math.floor(seconds) + 2);
    expect(count).toBeLessThan(values.length);
  });

  it('coalesces a burst: 1,000 reports without pause make at most two writes, the last value stored', async () => {
    const values = Array.from({ length: 1000 }, (_, i) => ({ done: i + 1, total: 1000 }));
    const id = await submit({ progress: { values } });
    const done = await waitFor(finished(id), 'the task finished', 30_000);
    expect(done).toMatchObject({ state: 'completed', progress: { done: 1000, total: 1000 } });
    expect(writes.get(id)).toBeGreaterThanOrEqual(1);
    expect(writes.get(id)).toBeLessThanOrEqual(2);
  });

  it('counts the writes in taskfleet_task_progress_writes_total{queue}', async () => {
    const metric = await worker.metrics.getSingleMetric('taskfleet_task_progress_writes_total')?.get();
    const noop = metric?.values.find((v) => v.labels.queue === 'noop')?.value;
    expect(noop).toBe([...writes.values()].reduce((a, b) => a + b, 0));
    expect(noop).toBeGreaterThan(0);
  });

  it('a task that reports nothing shows progress null', async () => {
    const id = await submit({});
    expect(await waitFor(finished(id), 'the task finished')).toMatchObject({ state: 'completed', progress: null });
    expect(writes.has(id)).toBe(false);
  });

  it.each([
    [150, /a number must be between 0 and 100 \(got 150\)/],
    ['half', /expected a number from 0 to 100 or a plain JSON object/],
    [[1, 2], /expected a number from 0 to 100 or a plain JSON object/],
    [{ blob: 'x'.repeat(3000) }, /the object is \d+ bytes as JSON; at most 2048/],
  ])('an invalid value (%j) throws in the handler with a clear error', async (value, message) => {
    const id = await submit({ progress: { values: [value] } }, { maxAttempts: 1 });
    const done = await waitFor(finished(id), 'the task failed');
    expect(done.state).toBe('dead_lettered');
    expect(done.lastError?.error?.name).toBe('InvalidProgressError');
    expect(done.lastError?.error?.message).toMatch(/^ctx\.progress\(\): /);
    expect(done.lastError?.error?.message).toMatch(message);
    expect(writes.has(id)).toBe(false);
  });
});
