/**
 * Task dependencies end to end: the API (in process, real PostgreSQL) takes `dependsOn`, a real
 * worker runs the tasks; migration 000014's triggers release or cancel the dependents.
 */
import { NOTIFY_CHANNEL, noopTask } from '@taskfleet/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestWorker, type TestWorker, waitFor } from '../../../test-support/worker.ts';
import { PermanentError } from '../src/errors.ts';
import { defineHandler } from '../src/handlers/types.ts';

const db = useTestDatabase();
let api: TestApi;
const workers: TestWorker[] = [];

beforeAll(async () => {
  api = await startTestApi(db);
});
afterAll(async () => {
  await api?.close();
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(1);
  await db.query('DELETE FROM pgboss.job');
});

/** noop, except that `{ echo: "deps" }` answers what ctx.dependencies() gives it. */
const readsDependencies = defineHandler(noopTask, async (payload, ctx) => {
  if (payload.echo === 'deps') return { dependencies: await ctx.dependencies() };
  if (payload.failPermanently) throw new PermanentError('told to fail');
  if (payload.sleepMs) await new Promise((r) => setTimeout(r, payload.sleepMs));
  return payload.echo === undefined ? null : { echo: payload.echo };
});

async function startWorker() {
  const w = await startTestWorker(db, { WORKER_POLL_INTERVAL_MS: '200' }, [readsDependencies]);
  workers.push(w);
  return w;
}

async function submit(body: unknown, queue = 'noop') {
  const res = await api.request(`/v1/queues/${queue}/tasks`, { json: body });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function view(id: string, queue = 'noop') {
  return (await (await api.request(`/v1/queues/${queue}/tasks/${id}`)).json()) as Record<string, any>;
}

async function times(id: string): Promise<{ started: Date; completed: Date }> {
  const { rows } = await db.query('SELECT started_on AS started, completed_on AS completed FROM pgboss.job WHERE id = $1', [id]);
  return rows[0];
}

const ended = (id: string, state: string) => async () => (await view(id)).state === state;

describe('task dependencies', () => {
  it('runs a chain A → B → C in order; B and C wait meanwhile', async () => {
    const a = await submit({ payload: { sleepMs: 300, echo: 'a' } });
    const b = await submit({ payload: { echo: 'b' }, dependsOn: [a.body.id] });
    const c = await submit({ payload: { echo: 'c' }, dependsOn: [b.body.id] });
    expect([a.status, b.status, c.status]).toEqual([202, 202, 202]);
    expect([a.body.state, b.body.state, c.body.state]).toEqual(['queued', 'waiting', 'waiting']);
    const bView = await view(b.body.id);
    expect(bView.state).toBe('waiting');
    expect(bView.dependsOn).toEqual([{ queue: 'noop', id: a.body.id }]);
    const listed = (await (await api.request('/v1/queues/noop/tasks?state=waiting')).json()) as { tasks: { id: string }[] };
    expect(listed.tasks.map((t) => t.id).sort()).toEqual([b.body.id, c.body.id].sort());
    const depth = (await (await api.request('/v1/queues/noop')).json()) as { depth: { ready: number; scheduled: number } };
    expect(depth.depth).toMatchObject({ ready: 1, scheduled: 0 }); // A only: waiting tasks are not ready

    await startWorker();
    await waitFor(ended(c.body.id, 'completed'), 'C completed');
    const [ta, tb, tc] = await Promise.all([times(a.body.id), times(b.body.id), times(c.body.id)]);
    expect(tb.started.getTime()).toBeGreaterThanOrEqual(ta.completed.getTime());
    expect(tc.started.getTime()).toBeGreaterThanOrEqual(tb.completed.getTime());
  });

  it('cancels B and C, with the reason, when A is dead-lettered', async () => {
    const a = await submit({ payload: { failPermanently: true } });
    const b = await submit({ payload: {}, dependsOn: [a.body.id] });
    const c = await submit({ payload: {}, dependsOn: [b.body.id] });
    await startWorker();
    await waitFor(ended(c.body.id, 'cancelled'), 'C cancelled');
    expect((await view(a.body.id)).state).toBe('dead_lettered');
    const bView = await view(b.body.id);
    expect(bView.state).toBe('cancelled');
    expect(bView.lastError).toMatchObject({
      cancelReason: 'dependency',
      dependency: { queue: 'noop', id: a.body.id, state: 'dead_lettered' },
    });
    expect((await view(c.body.id)).lastError).toMatchObject({ dependency: { id: b.body.id, state: 'cancelled' } });
    const { rows } = await db.query('SELECT count(*)::int AS n FROM pgboss.job WHERE id = ANY($1) AND started_on IS NOT NULL', [
      [b.body.id, c.body.id],
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('runs a dependent of a completed task at once, and cancels a dependent of a failed one at once', async () => {
    await startWorker();
    const done = await submit({ payload: { echo: 1 } });
    const failed = await submit({ payload: { failPermanently: true } });
    await waitFor(ended(done.body.id, 'completed'), 'dependency completed');
    await waitFor(ended(failed.body.id, 'dead_lettered'), 'dependency dead-lettered');

    const ready = await submit({ payload: {}, dependsOn: [done.body.id] });
    expect(ready).toMatchObject({ status: 202, body: { state: 'queued' } });
    await waitFor(ended(ready.body.id, 'completed'), 'dependent completed');

    const doomed = await submit({ payload: {}, dependsOn: [done.body.id, failed.body.id] });
    expect(doomed).toMatchObject({ status: 202, body: { state: 'cancelled' } });
    expect((await view(doomed.body.id)).lastError).toMatchObject({ dependency: { id: failed.body.id, state: 'dead_lettered' } });
  });

  it('lets a batch item depend on an earlier item ("$0"), and a child read its parent\'s output', async () => {
    const res = await api.request('/v1/queues/noop/tasks:batch', {
      json: { tasks: [{ payload: { echo: 'parent', sleepMs: 100 } }, { payload: { echo: 'deps' }, dependsOn: ['$0'] }] },
    });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as { accepted: number; results: { id: string; status: string }[] };
    expect(batch.accepted).toBe(2);
    const [parent, child] = batch.results.map((r) => r.id) as [string, string];
    expect((await view(child)).state).toBe('waiting');
    await startWorker();
    await waitFor(ended(child, 'completed'), 'child completed');
    expect((await view(child)).output).toEqual({
      dependencies: [{ queue: 'noop', id: parent, state: 'completed', output: { echo: 'parent' } }],
    });
  });

  it('cancels a diamond (A → B, A → C, B → C) when A is cancelled, and runs it in order when A completes', async () => {
    const diamond = async () => {
      const a = await submit({ payload: { sleepMs: 200 } });
      const b = await submit({ payload: {}, dependsOn: [a.body.id] });
      const c = await submit({ payload: {}, dependsOn: [a.body.id, b.body.id] });
      return [a.body.id, b.body.id, c.body.id] as const;
    };
    const [a1, b1, c1] = await diamond();
    expect((await api.request(`/v1/queues/noop/tasks/${a1}:cancel`, { method: 'POST' })).status).toBe(200);
    expect((await view(b1)).state).toBe('cancelled');
    expect((await view(c1)).state).toBe('cancelled');

    const [a2, b2, c2] = await diamond();
    await startWorker();
    await waitFor(ended(c2, 'completed'), 'C completed');
    const [ta, tb, tc] = await Promise.all([times(a2), times(b2), times(c2)]);
    expect(tb.started.getTime()).toBeGreaterThanOrEqual(ta.completed.getTime());
    expect(tc.started.getTime()).toBeGreaterThanOrEqual(tb.completed.getTime());
  });

  it('loses no dependent when dependencies complete while dependents are being inserted', async () => {
    await startWorker();
    const pairs = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const parent = await submit({ payload: {} });
        const child = await submit({ payload: {}, dependsOn: [parent.body.id] });
        expect(child.status).toBe(202);
        return child.body.id as string;
      }),
    );
    await waitFor(
      async () =>
        (await db.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE id = ANY($1) AND state = 'completed'`, [pairs])).rows[0].n === 60,
      'every dependent completed',
      30_000,
    );
  });

  it("wakes the dependents' workers on pg-boss's own channel (the migration derives the same name)", async () => {
    const { rows } = await db.query('SELECT taskfleet.pgboss_notify_channel() AS channel');
    expect(rows[0].channel).toBe(NOTIFY_CHANNEL);
  });

  it('answers 422 naming the field for an unknown id, a batch reference outside a batch, a later item', async () => {
    const unknown = await submit({ payload: {}, dependsOn: ['0190aaaa-0000-7000-8000-000000000000'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toEqual([{ field: 'dependsOn[0]', message: expect.stringContaining('no task has this id') }]);

    const single = await submit({ payload: {}, dependsOn: ['$0'] });
    expect(single.status).toBe(422);
    expect(single.body.errors[0].field).toBe('dependsOn[0]');

    const malformed = await submit({ payload: {}, dependsOn: ['x', '0190aaaa-0000-7000-8000-000000000000'] });
    expect(malformed.status).toBe(422);
    expect(malformed.body.errors[0].field).toBe('dependsOn[0]');

    const res = await api.request('/v1/queues/noop/tasks:batch', {
      json: { tasks: [{ payload: {}, dependsOn: ['$1'] }, { payload: {} }, { payload: {}, dependsOn: ['$0'] }] },
    });
    const batch = (await res.json()) as { accepted: number; invalid: number; results: { status: string; errors?: { field: string }[] }[] };
    expect(batch).toMatchObject({ accepted: 1, invalid: 2 });
    expect(batch.results[0]?.errors?.[0]?.field).toBe('tasks[0].dependsOn[0]');
    expect(batch.results[2]?.errors?.[0]?.field).toBe('tasks[2].dependsOn[0]');
    const { rows } = await db.query('SELECT count(*)::int AS n FROM pgboss.job');
    expect(rows[0].n).toBe(1);
  });
});
