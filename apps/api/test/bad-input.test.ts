/** Every kind of bad input gets a problem+json 4xx naming the problem, and nothing is written. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { countJobs, startTestApi, type TestApi } from '../../../test-support/api.ts';

const db = useTestDatabase();
let api: TestApi;
let before = 0;
beforeAll(async () => {
  api = await startTestApi(db, { API_BODY_LIMIT_BYTES: '2048' });
});
afterAll(() => api.close());
beforeEach(async () => {
  before = await countJobs(db);
});

async function expectProblem(
  res: Response,
  status: number,
  check?: (p: { detail: string; errors?: { field: string; message: string }[] }) => void,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const problem = (await res.json()) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    requestId: string;
    errors?: { field: string; message: string }[];
  };
  expect(problem).toMatchObject({
    status,
    type: expect.stringMatching(/^https:\/\/taskfleet\.dev\/problems\//),
    title: expect.any(String),
  });
  expect(problem.requestId).toBeTruthy();
  check?.(problem);
  expect(await countJobs(db)).toBe(before);
}

const raw = (body: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  api.request('/v1/queues/noop/tasks', { method: 'POST', body, headers });

describe('bad input', () => {
  it('unknown queue → 404', async () => {
    await expectProblem(await api.request('/v1/queues/no.such/tasks', { json: { payload: {} } }), 404, (p) =>
      expect(p.detail).toMatch(/no queue named "no.such"/),
    );
  });

  it('dead-letter queue is not a submit target → 404', async () => {
    await expectProblem(await api.request('/v1/queues/noop.dead/tasks', { json: { payload: {} } }), 404, (p) =>
      expect(p.detail).toMatch(/dead-letter/),
    );
  });

  it('payload failing the task schema → 422 with field paths', async () => {
    await expectProblem(await api.request('/v1/queues/noop/tasks', { json: { payload: { sleepMs: 'soon', bogus: 1 } } }), 422, (p) =>
      expect(p.errors?.map((e) => e.field).sort()).toEqual(['payload', 'payload.sleepMs']),
    );
  });

  it('missing payload → 422 naming payload', async () => {
    await expectProblem(await api.request('/v1/queues/noop/tasks', { json: { priority: 'high' } }), 422, (p) =>
      expect(p.errors).toEqual([{ field: 'payload', message: 'is required' }]),
    );
  });

  it.each([
    [{ payload: {}, priority: 'urgent' }, 'priority'],
    [{ payload: {}, delaySeconds: -5 }, 'delaySeconds'],
    [{ payload: {}, delaySeconds: 1.5 }, 'delaySeconds'],
    [{ payload: {}, runAt: 'tomorrow' }, 'runAt'],
    [{ payload: {}, runAt: '2030-01-01T00:00:00' }, 'runAt'],
    [{ payload: {}, runAt: '2030-01-01T00:00:00Z', delaySeconds: 5 }, 'delaySeconds'],
    [{ payload: {}, maxAttempts: 0 }, 'maxAttempts'],
    [{ payload: {}, timeoutSeconds: 0 }, 'timeoutSeconds'],
    [{ payload: {}, idempotencyKey: 'has space' }, 'idempotencyKey'],
    [{ payload: {}, extra: true }, '(body)'],
  ])('%j → 422 naming %s', async (body, field) => {
    await expectProblem(await api.request('/v1/queues/noop/tasks', { json: body }), 422, (p) =>
      expect(p.errors?.map((e) => e.field)).toContain(field),
    );
  });

  it('null payload → 422 naming payload (validated as sent, never stored as {})', async () => {
    // Found by the property-based test: `null` used to be stood in for by `{}` and accepted.
    await expectProblem(await api.request('/v1/queues/noop/tasks', { json: { payload: null } }), 422, (p) =>
      expect(p.errors?.map((e) => e.field)).toContain('payload'),
    );
  });

  it('a JSON array or scalar instead of an object → 422', async () => {
    await expectProblem(await raw('[1,2]'), 422);
    await expectProblem(await raw('"x"'), 422);
  });

  it('malformed JSON → 400', async () => {
    await expectProblem(await raw('{"payload": {'), 400, (p) => expect(p.detail).toMatch(/not valid JSON/));
  });

  it('empty body → 400', async () => {
    await expectProblem(await raw(''), 400, (p) => expect(p.detail).toMatch(/empty/));
  });

  it('invalid UTF-8 → 400', async () => {
    await expectProblem(await raw(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), 400, (p) =>
      expect(p.detail).toMatch(/UTF-8/),
    );
  });

  it('wrong or missing content type → 415', async () => {
    await expectProblem(await raw('{"payload":{}}', { 'content-type': 'text/plain' }), 415);
    await expectProblem(await raw('{"payload":{}}', {}), 415);
    await expectProblem(await raw('{"payload":{}}', { 'content-type': 'application/json; charset=latin1' }), 415);
  });

  it('accepts application/json with charset=utf-8 and +json types', async () => {
    expect((await raw('{"payload":{}}', { 'content-type': 'application/json; charset=UTF-8' })).status).toBe(202);
    expect((await raw('{"payload":{}}', { 'content-type': 'application/vnd.taskfleet+json' })).status).toBe(202);
    before = await countJobs(db);
  });

  it('body over the limit → 413 (declared length and streamed)', async () => {
    const big = JSON.stringify({ payload: { echo: 'x'.repeat(4000) } });
    await expectProblem(await raw(big), 413, (p) => expect(p.detail).toMatch(/2048 bytes/));
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const res = await api.app.request('/v1/queues/noop/tasks', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    await expectProblem(res, 413);
  });

  it('NUL characters that jsonb rejects → 422 naming the field', async () => {
    await expectProblem(await raw('{"payload":{"echo":{"a":["ok","bad\\u0000"]}}}'), 422, (p) =>
      expect(p.errors).toEqual([{ field: 'payload.echo.a[1]', message: 'must not contain NUL (\\u0000) characters' }]),
    );
    await expectProblem(await raw('{"payload":{"echo":{"k\\u0000":1}}}'), 422, (p) => expect(p.errors?.[0]?.field).toBe('payload.echo'));
  });

  it('unpaired surrogates → 422', async () => {
    await expectProblem(await raw('{"payload":{"echo":"\\ud800"}}'), 422, (p) => expect(p.errors?.[0]?.message).toMatch(/surrogate/));
  });

  it('absurd nesting → 422, not a crash', async () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    await expectProblem(await raw(`{"payload":{"echo":${deep}}}`), 413); // over 2 KiB: refused by size first
    const wide = await startTestApi(db);
    try {
      const res = await wide.request('/v1/queues/noop/tasks', {
        method: 'POST',
        body: `{"payload":{"echo":${deep}}}`,
        headers: { 'content-type': 'application/json' },
      });
      await expectProblem(res, 422, (p) => expect(p.errors?.[0]?.message).toMatch(/deeper than 64/));
    } finally {
      await wide.close();
    }
  });

  it('malformed Idempotency-Key header → 422', async () => {
    await expectProblem(
      await api.request('/v1/queues/noop/tasks', { json: { payload: {} }, headers: { 'idempotency-key': 'x'.repeat(300) } }),
      422,
      (p) => expect(p.errors?.[0]?.field).toBe('Idempotency-Key'),
    );
  });

  it('unknown route → 404 problem', async () => {
    await expectProblem(await api.request('/v2/whatever'), 404);
  });

  it('malformed task id → 404, unknown id → 404', async () => {
    await expectProblem(await api.request('/v1/queues/noop/tasks/not-a-uuid'), 404);
    await expectProblem(await api.request('/v1/queues/noop/tasks/00000000-0000-4000-8000-000000000000'), 404);
  });

  it('bad listing parameters → 422', async () => {
    await expectProblem(await api.request('/v1/queues/noop/tasks?state=sleeping'), 422, (p) =>
      expect(p.errors?.[0]?.field).toMatch(/^state/),
    );
    await expectProblem(await api.request('/v1/queues/noop/tasks?limit=100000'), 422, (p) => expect(p.errors?.[0]?.field).toBe('limit'));
    await expectProblem(await api.request('/v1/queues/noop/tasks?cursor=garbage'), 422, (p) => expect(p.errors?.[0]?.field).toBe('cursor'));
  });
});
