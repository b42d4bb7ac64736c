import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoss, startBoss } from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { waitFor } from '../../../test-support/worker.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';

const db = useTestDatabase();
let api: TestApi;
let worker: PgBoss;
beforeAll(async () => {
  api = await startTestApi(db);
  worker = await startBoss(
    createBoss({ config: db.config(), role: 'test', logger: db.logger, max: 2, supervise: false, listen: false }),
    db.logger,
  );
});
afterAll(async () => {
  await worker.stop({ graceful: false, close: true });
  await api.close();
});

type Task = {
  id: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  lastError: unknown;
  output: unknown;
  deadLetterQueue: string | null;
  source: unknown;
};

async function submit(body: unknown = { payload: {} }): Promise<string> {
  const res = await api.request('/v1/queues/noop/tasks', { json: body });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}
const get = async (id: string, queue = 'noop') => (await (await api.request(`/v1/queues/${queue}/tasks/${id}`)).json()) as Task;
const op = (id: string, action: string) => api.request(`/v1/queues/noop/tasks/${id}:${action}`, { method: 'POST' });

describe('task status', () => {
  it('follows the task from queued to running to completed with output', async () => {
    await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
    const id = await submit({ payload: { echo: 'x' }, maxAttempts: 2 });
    expect(await get(id)).toMatchObject({ state: 'queued', attempts: 0, maxAttempts: 2 });
    const [job] = await worker.fetch('noop');
    expect(job?.id).toBe(id);
    expect(await get(id)).toMatchObject({ state: 'running', attempts: 1 });
    await worker.complete('noop', id, { echoed: 'x' });
    const done = await get(id);
    expect(done).toMatchObject({ state: 'completed', output: { echoed: 'x' }, lastError: null });
  });

  it('shows the last error while retrying, and dead-lettered after the last attempt', async () => {
    await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
    const id = await submit({ payload: {}, maxAttempts: 1 });
    const [job] = await worker.fetch('noop');
    expect(job?.id).toBe(id);
    await worker.fail('noop', id, { message: 'boom' });
    const failed = await get(id);
    expect(failed).toMatchObject({ state: 'dead_lettered', deadLetterQueue: 'noop.dead', lastError: { message: 'boom' } });
    const { rows } = await db.query(`SELECT id FROM pgboss.job WHERE name = 'noop.dead' AND source_id = $1`, [id]);
    expect(rows).toHaveLength(1);
    const copy = await get(rows[0].id, 'noop.dead');
    expect(copy.source).toEqual({ queue: 'noop', id });

    // :retry runs it again and takes the copy out of the dead-letter queue.
    const retried = await op(id, 'retry');
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as Task).state).toBe('retrying');
    const { rows: left } = await db.query(`SELECT id FROM pgboss.job WHERE name = 'noop.dead' AND source_id = $1`, [id]);
    expect(left).toHaveLength(0);
  });
});

describe(':cancel and :retry', () => {
  it('cancels a queued task, and resumes it with :retry', async () => {
    const id = await submit();
    const cancelled = await op(id, 'cancel');
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as Task).state).toBe('cancelled');
    const resumed = await op(id, 'retry');
    expect(((await resumed.json()) as Task).state).toBe('queued');
  });

  it('refuses to cancel a completed task (409) and to retry a queued one (409)', async () => {
    await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
    const id = await submit();
    const res = await op(id, 'retry');
    expect(res.status).toBe(409);
    expect(((await res.json()) as { state: string }).state).toBe('queued');
    await worker.fetch('noop');
    await worker.complete('noop', id);
    const cancel = await op(id, 'cancel');
    expect(cancel.status).toBe(409);
    expect(((await cancel.json()) as { detail: string }).detail).toMatch(/completed and cannot be cancelled/);
  });

  it('404 for an unknown action', async () => {
    const id = await submit();
    expect((await op(id, 'explode')).status).toBe(404);
  });
});

describe('listing', () => {
  it('pages newest first with a cursor, without gaps or repeats', async () => {
    await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await submit({ payload: { echo: i } }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/queues/noop/tasks?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (await api.request(query)).json()) as { tasks: { id: string }[]; nextCursor: string | null };
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('pages through rows created in the same statement (same created_on) without gaps', async () => {
    await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
    const res = await api.request('/v1/queues/noop/tasks:batch', {
      json: { tasks: Array.from({ length: 7 }, (_, i) => ({ payload: { echo: i } })) },
    });
    const ids = ((await res.json()) as { results: { id: string }[] }).results.map((r) => r.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const query: string = `/v1/queues/noop/tasks?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (await api.request(query)).json()) as { tasks: { id: string }[]; nextCursor: string | null };
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(new Set(seen).size).toBe(7);
  });

  it('filters by state', async () => {
    await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
    const queued = await submit();
    const scheduled = await submit({ payload: {}, delaySeconds: 600 });
    const cancelled = await submit();
    await op(cancelled, 'cancel');
    const list = async (state: string) =>
      ((await (await api.request(`/v1/queues/noop/tasks?state=${state}`)).json()) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(await list('queued')).toEqual([queued]);
    expect(await list('scheduled')).toEqual([scheduled]);
    expect(await list('cancelled')).toEqual([cancelled]);
    expect((await list('queued,scheduled')).sort()).toEqual([queued, scheduled].sort());
  });
});

describe('queues', () => {
  it('lists every queue with depth by state and the oldest ready age', async () => {
    await db.query(`DELETE FROM pgboss.job`);
    await submit();
    await submit({ payload: {}, delaySeconds: 600 });
    // The listing is served stale while it refreshes in the background (5 s cache): poll until the
    // two new tasks show.
    type Listing = { queues: { name: string; depth: Record<string, number>; oldestReadyAgeSeconds: number | null }[] };
    const listing = async () => (await (await api.request('/v1/queues')).json()) as Listing;
    const body: Listing = await waitFor(
      async () => {
        const b = await listing();
        const d = b.queues.find((q) => q.name === 'noop')?.depth;
        return d?.ready === 1 && d.scheduled === 1 ? b : undefined;
      },
      'the listing to show the new tasks',
      15_000,
    );
    // Every queue in the database, sorted (the test template also holds the reliability suite's
    // test.ledger queues, which this API does not serve: listed without a description).
    expect(body.queues.map((q) => q.name)).toEqual([
      'http.request',
      'http.request.dead',
      'noop',
      'noop.dead',
      'taskfleet.callback',
      'taskfleet.callback.dead',
      'test.ledger',
      'test.ledger.dead',
    ]);
    const noop = body.queues.find((q) => q.name === 'noop');
    expect(noop?.depth).toMatchObject({ ready: 1, scheduled: 1, running: 0 });
    expect(noop?.oldestReadyAgeSeconds).toBeGreaterThan(0);
    expect((await api.request('/v1/queues/noop')).status).toBe(200);
    expect((await api.request('/v1/queues/nope')).status).toBe(404);
  });
});
