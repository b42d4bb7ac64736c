/**
 * Dedup windows (`dedupe` on enqueue) against real PostgreSQL, through two API replicas (each with its
 * own group committer) on one database: throttle keeps the window's first task, debounce runs the
 * window's last request once, at the window's end; per-item results in the batch endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestWorker, waitFor } from '../../../test-support/worker.ts';

const db = useTestDatabase();
let a: TestApi;
let b: TestApi;
beforeAll(async () => {
  [a, b] = await Promise.all([startTestApi(db), startTestApi(db)]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

let keys = 0;
const newKey = (what: string) => `${what}-${process.pid}-${++keys}`;
const post = (api: TestApi, body: unknown, headers: Record<string, string> = {}) =>
  api.request('/v1/queues/noop/tasks', { json: body, headers });
const json = async <T>(r: Response) => (await r.json()) as T;

/** Wait, if need be, until the current window of `seconds` has at least `marginMs` left. */
async function awayFromBoundary(seconds: number, marginMs: number): Promise<void> {
  const ms = seconds * 1000;
  const left = ms - (Date.now() % ms);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 20));
}

async function tasksWithKey(key: string) {
  const { rows } = await db.query<{ id: string; state: string; payload: { echo?: unknown }; start_after: Date }>(
    `SELECT id, state, data->'payload' AS payload, start_after FROM pgboss.job WHERE name = 'noop' AND data->'meta'->'dedupe'->>'key' = $1`,
    [key],
  );
  return rows;
}

describe('dedupe: validation', () => {
  it('names the field of a bad or contradictory dedupe', async () => {
    const cases: [unknown, Record<string, string>, string][] = [
      [{ payload: {}, dedupe: { key: 'k', seconds: 0 } }, {}, 'dedupe.seconds'],
      [{ payload: {}, dedupe: { key: '', seconds: 5 } }, {}, 'dedupe.key'],
      [{ payload: {}, dedupe: { key: 'k', seconds: 5, mode: 'sometimes' } }, {}, 'dedupe.mode'],
      [{ payload: {}, dedupe: { key: 'k', seconds: 5, extra: 1 } }, {}, 'dedupe'],
      [{ payload: {}, dedupe: { key: 'k', seconds: 5 }, idempotencyKey: 'i' }, {}, 'dedupe'],
      [{ payload: {}, dedupe: { key: 'k', seconds: 5, mode: 'debounce' }, delaySeconds: 3 }, {}, 'dedupe.mode'],
      [{ payload: {}, dedupe: { key: 'k', seconds: 5 } }, { 'idempotency-key': 'h' }, 'Idempotency-Key'],
    ];
    for (const [body, headers, field] of cases) {
      const res = await post(a, body, headers);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      const problem = await json<{ errors: { field: string }[] }>(res);
      expect(
        problem.errors.map((e) => e.field),
        JSON.stringify(body),
      ).toContain(field);
    }
    const batch = await a.request('/v1/queues/noop/tasks:batch', {
      json: { tasks: [{ payload: {} }, { payload: {}, dedupe: { key: 'k', seconds: -1 } }] },
    });
    expect(batch.status).toBe(202);
    expect((await json<{ results: { status: string; errors?: { field: string }[] }[] }>(batch)).results[1]).toMatchObject({
      status: 'invalid',
      errors: [{ field: 'tasks[1].dedupe.seconds' }],
    });
  });
});

describe('dedupe: throttle', () => {
  it('100 concurrent enqueues with one key on two replicas → 1 task, the first; every answer names it', async () => {
    const key = newKey('throttle');
    await awayFromBoundary(600, 10_000);
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => post(i % 2 ? a : b, { payload: { echo: i }, dedupe: { key, seconds: 600 } })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(99);
    const bodies = await Promise.all(responses.map((r) => json<{ id: string; payload?: { echo: number } }>(r)));
    const ids = new Set(bodies.map((x) => x.id));
    expect(ids.size).toBe(1);
    const stored = await tasksWithKey(key);
    expect(stored).toHaveLength(1);
    // The stored task is the accepted request's, and every 200 shows it.
    const acceptedIndex = statuses.indexOf(202);
    expect(stored[0]?.payload.echo).toBe(acceptedIndex);
    for (const body of bodies.filter((_, i) => statuses[i] === 200)) expect(body.payload?.echo).toBe(acceptedIndex);
  });

  it('the next window takes a new task', async () => {
    const key = newKey('throttle-next');
    await awayFromBoundary(2, 1_500);
    const first = await json<{ id: string }>(await post(a, { payload: {}, dedupe: { key, seconds: 2 } }));
    await new Promise((r) => setTimeout(r, 2_000 - (Date.now() % 2_000) + 50));
    const next = await post(b, { payload: {}, dedupe: { key, seconds: 2 } });
    expect(next.status).toBe(202);
    expect((await json<{ id: string }>(next)).id).not.toBe(first.id);
    expect(await tasksWithKey(key)).toHaveLength(2);
  });
});

describe('dedupe: debounce', () => {
  it('many enqueues in one window → one task, at the window end, running the last payload once', async () => {
    const key = newKey('debounce');
    const seconds = 5;
    await awayFromBoundary(seconds, 4_000);
    const body = (echo: unknown) => ({ payload: { echo }, dedupe: { key, seconds, mode: 'debounce' } });
    const early = await Promise.all(Array.from({ length: 99 }, (_, i) => post(i % 2 ? a : b, body(i))));
    const last = await post(a, body('last'));
    const statuses = [...early, last].map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(99);
    const view = await json<{
      id: string;
      state: string;
      runAt: string;
      payload: { echo: unknown };
      dedupe: { mode: string; windowEnd: string };
    }>(last);
    expect(view).toMatchObject({ state: 'scheduled', payload: { echo: 'last' }, dedupe: { key, mode: 'debounce' } });
    expect(Date.parse(view.runAt)).toBe(Date.parse(view.dedupe.windowEnd));
    expect(Date.parse(view.runAt) % (seconds * 1000)).toBe(0);

    const worker = await startTestWorker(db);
    try {
      const done = await waitFor(async () => {
        const rows = await tasksWithKey(key);
        return rows.length === 1 && rows[0]?.state === 'completed' ? rows : undefined;
      }, 'the debounced task to complete');
      expect(done[0]?.payload.echo).toBe('last');
      const { rows } = await db.query<{ output: unknown; started_on: Date }>('SELECT output, started_on FROM pgboss.job WHERE id = $1', [
        view.id,
      ]);
      expect(rows[0]?.output).toEqual({ echo: 'last' });
      expect(rows[0]?.started_on.getTime()).toBeGreaterThanOrEqual(Date.parse(view.runAt));
    } finally {
      await worker.stop();
    }
  });

  it('a request finding its window task already started is stored for the next window', async () => {
    const key = newKey('debounce-started');
    const seconds = 600;
    await awayFromBoundary(seconds, 10_000);
    const body = (echo: string) => ({ payload: { echo }, dedupe: { key, seconds, mode: 'debounce' } });
    const first = await json<{ id: string }>(await post(a, body('first')));
    const firstRunAt = (await tasksWithKey(key))[0]?.start_after.getTime() ?? Number.NaN;
    // As when a worker took the task (another replica's clock already past the window).
    await db.query(`UPDATE pgboss.job SET state = 'active', started_on = now() WHERE id = $1`, [first.id]);
    const late = await post(b, body('late'));
    expect(late.status).toBe(202);
    const receipt = await json<{ id: string; state: string }>(late);
    expect(receipt.id).not.toBe(first.id);
    const rows = await tasksWithKey(key);
    expect(rows).toHaveLength(2);
    const next = rows.find((r) => r.id === receipt.id);
    expect(next?.payload.echo).toBe('late');
    expect(next?.start_after.getTime()).toBe(firstRunAt + seconds * 1000);
    expect(rows.find((r) => r.id === first.id)?.payload.echo).toBe('first');
  });
});

describe('dedupe: batch', () => {
  it('answers accepted, duplicate and replaced per item; the later debounced item wins', async () => {
    const [t, d] = [newKey('batch-throttle'), newKey('batch-debounce')];
    await awayFromBoundary(600, 10_000);
    const res = await b.request('/v1/queues/noop/tasks:batch', {
      json: {
        tasks: [
          { payload: { echo: 't1' }, dedupe: { key: t, seconds: 600 } },
          { payload: { echo: 't2' }, dedupe: { key: t, seconds: 600 } },
          { payload: { echo: 'd1' }, dedupe: { key: d, seconds: 600, mode: 'debounce' } },
          { payload: { echo: 'd2' }, dedupe: { key: d, seconds: 600, mode: 'debounce' } },
          { payload: { echo: 'plain' } },
        ],
      },
    });
    expect(res.status).toBe(202);
    const result = await json<{ accepted: number; duplicate: number; replaced: number; results: { status: string; id: string }[] }>(res);
    expect(result.results.map((r) => r.status)).toEqual(['accepted', 'duplicate', 'accepted', 'replaced', 'accepted']);
    expect(result).toMatchObject({ accepted: 3, duplicate: 1, replaced: 1 });
    expect(result.results[1]?.id).toBe(result.results[0]?.id);
    expect(result.results[3]?.id).toBe(result.results[2]?.id);
    expect((await tasksWithKey(t)).map((r) => r.payload.echo)).toEqual(['t1']);
    expect((await tasksWithKey(d)).map((r) => r.payload.echo)).toEqual(['d2']);
    // A second batch in the same window: the throttled key answers duplicate, the debounced one replaces again.
    const again = await json<{ results: { status: string }[] }>(
      await a.request('/v1/queues/noop/tasks:batch', {
        json: {
          tasks: [
            { payload: {}, dedupe: { key: t, seconds: 600 } },
            { payload: { echo: 'd3' }, dedupe: { key: d, seconds: 600, mode: 'debounce' } },
          ],
        },
      }),
    );
    expect(again.results.map((r) => r.status)).toEqual(['duplicate', 'replaced']);
    expect((await tasksWithKey(d)).map((r) => r.payload.echo)).toEqual(['d3']);
  });
});
