/**
 * Property-based bad input (fast-check): generated bodies, content types, auth and idempotency
 * headers, queue names, ids and query strings — arbitrary JSON, random bytes (invalid UTF-8), NUL
 * bytes, unpaired surrogates, deep nesting, large strings, SQL fragments. For every case the API
 * answers below 500 with a problem+json naming the problem, or accepts a task whose stored payload is
 * what was sent; afterwards the database holds exactly the accepted tasks (nothing partial).
 * Thousands of cases per run, bounded by a time limit; the seed is printed on failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTaskDefinition } from '@taskfleet/core';
import { countJobs, startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';

const db = useTestDatabase();
let api: TestApi;
let key = '';
let adminKey = '';
beforeAll(async () => {
  api = await startTestApi(db, {
    API_AUTH: 'required',
    API_BODY_LIMIT_BYTES: '65536',
    API_RATE_LIMIT_PER_SECOND: '1000000',
    API_RATE_LIMIT_BURST: '1000000',
    API_GROUP_COMMIT_WINDOW_MS: '1',
  });
  key = await api.createKey('fuzz', ['submit', 'read']);
  adminKey = await api.createKey('fuzz-admin', ['admin', 'submit', 'read']);
});
afterAll(() => api.close());

const TIME_LIMIT_MS = 45_000;
const SQL = ["'; DROP TABLE pgboss.job; --", '" OR 1=1 --', '$1', '\\x00', "E'\\\\'", '); DELETE FROM pgboss.queue; --', '%00', '{{7*7}}'];

/** Path segments sent as they are: malformed percent-encoding, encoded slashes and NULs. */
const MALFORMED_SEGMENTS = ['%', '%zz', '%C3%28', '%ED%A0%80', 'noop%2Fx', '%00', 'noop%00'].map((raw) => `RAW:${raw}`);

/** Percent-encode every UTF-8 byte (a lone surrogate becomes U+FFFD); RAW: segments go as they are. */
function segment(value: string): string {
  if (value.startsWith('RAW:')) return value.slice(4);
  return Array.from(new TextEncoder().encode(value), (b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }), // unpaired surrogates included
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(...SQL, '\u0000', 'a\u0000b', '\ud800', ''),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(text, tie('value'), { maxKeys: 5 }),
  ),
})).value;
const deep = fc.integer({ min: 1, max: 400 }).map((depth) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
});
const big = fc.integer({ min: 1_000, max: 120_000 }).map((n) => 'x'.repeat(n));
const noopPayload = fc.record(
  {
    sleepMs: fc.oneof(fc.integer({ min: -10, max: 700_000 }), text),
    failAttempts: fc.integer({ min: -1, max: 200 }),
    echo: fc.oneof(json, deep, big),
  },
  { requiredKeys: [] },
);
const httpPayload = fc.record(
  {
    url: fc.oneof(fc.webUrl(), text, fc.constantFrom('http://169.254.169.254/latest', 'file:///etc/passwd', 'http://[::1]/')),
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT'), text),
    headers: fc.dictionary(text, text, { maxKeys: 3 }),
    body: json,
  },
  { requiredKeys: [] },
);
const options = fc.record(
  {
    priority: fc.oneof(fc.constantFrom('critical', 'high', 'normal', 'low'), text),
    delaySeconds: fc.oneof(fc.integer({ min: -5, max: 10 }), fc.double()),
    runAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      text,
    ),
    maxAttempts: fc.integer({ min: -1, max: 200 }),
    timeoutSeconds: fc.integer({ min: -1, max: 100_000 }),
    idempotencyKey: fc.oneof(fc.string({ unit: fc.constantFrom(...'abcXYZ09-_:.'), minLength: 1, maxLength: 20 }), text),
    extra: json,
  },
  { requiredKeys: [] },
);
/** Mostly valid submissions, so the accept path (and what it stores) is exercised as much as refusals. */
const validOptions = fc.record(
  {
    priority: fc.constantFrom('critical', 'high', 'normal', 'low'),
    delaySeconds: fc.integer({ min: 0, max: 600 }),
    maxAttempts: fc.integer({ min: 1, max: 100 }),
    timeoutSeconds: fc.integer({ min: 1, max: 3600 }),
    idempotencyKey: fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: 255,
    }),
  },
  { requiredKeys: [] },
);
const validNoop = fc.record({ sleepMs: fc.integer({ min: 0, max: 1000 }), echo: fc.oneof(json, deep, big) }, { requiredKeys: [] });

const queue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('noop', 'http.request') },
  { weight: 1, arbitrary: fc.oneof(text, fc.constantFrom('noop.dead', 'test.ledger.dead', '..', 'NOOP', 'a'.repeat(300), ...SQL)) },
  { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_SEGMENTS) },
);
const body = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(validNoop, validOptions).map(([payload, o]) => JSON.stringify({ payload, ...o })) },
  {
    weight: 6,
    arbitrary: fc.tuple(fc.oneof(noopPayload, httpPayload, json), options).map(([payload, o]) => JSON.stringify({ payload, ...o })),
  },
  { weight: 1, arbitrary: json.map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: text },
  { weight: 1, arbitrary: deep.map((v) => JSON.stringify({ payload: { echo: v } })) },
  { weight: 1, arbitrary: fc.constant('{"payload": {"echo": "'.padEnd(70_000, 'y')) }, // over the limit and unterminated
);
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('text/plain', '', 'application/json; charset=latin1', 'application/merge-patch+json', 'multipart/form-data'),
  },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'abc/;=+ -'), maxLength: 30 }) },
);
const authHeader = fc.oneof(
  { weight: 8, arbitrary: fc.constant('valid') },
  { weight: 1, arbitrary: fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `Bearer tf_${'0'.repeat(64)}`) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'Bearer tf_0123456789abcdef'), maxLength: 80 }) },
);
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });

interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { field: string; message: string }[];
}

/** The shape every refusal must have: problem+json whose status matches and which names the problem. */
async function expectProblemOrSuccess(res: Response, context: string): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  expect(res.status, context).toBeLessThan(500);
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status < 400) return { ok: true, body };
  expect(res.headers.get('content-type'), context).toBe('application/problem+json');
  const problem = body as Problem;
  expect(problem.status, context).toBe(res.status);
  expect(problem.type, context).toMatch(/^https:\/\/taskfleet\.dev\/problems\//);
  expect(problem.detail ?? '', context).not.toBe('');
  if (res.status === 422) expect(problem.errors?.length ?? 0, context).toBeGreaterThan(0);
  return { ok: false, body };
}

describe('bad input, property-based', () => {
  it('submissions: below 500, problem+json naming the problem, or the task exactly as sent', { timeout: 120_000 }, async () => {
    const accepted = new Set<string>();
    let cases = 0;
    const before = await countJobs(db);
    await fc.assert(
      fc.asyncProperty(
        queue,
        body,
        contentType,
        authHeader,
        fc.option(headerText, { nil: undefined }),
        fc.boolean(),
        async (q, b, ct, auth, idem, batch) => {
          cases++;
          const headers: Record<string, string> = {};
          if (ct) headers['content-type'] = ct;
          if (auth === 'valid') headers.authorization = `Bearer ${key}`;
          else if (auth) headers.authorization = auth;
          if (idem !== undefined) headers['idempotency-key'] = idem;
          const path = `/v1/queues/${segment(q)}/${batch ? 'tasks:batch' : 'tasks'}`;
          const sent = batch && typeof b === 'string' && b.startsWith('{"payload"') ? `{"tasks":[${b}]}` : b;
          const res = await api.app.request(path, { method: 'POST', headers, body: sent });
          const context = `${res.status} POST ${path} ${ct} ${String(sent).slice(0, 200)}`;
          const { ok, body: answer } = await expectProblemOrSuccess(res, context);
          if (!ok) return;
          const ids = batch
            ? ((answer.results as { id?: string; status: string }[]) ?? [])
                .filter((r) => r.id && r.status !== 'invalid')
                .map((r) => r.id as string)
            : [answer.id as string];
          for (const id of ids) accepted.add(id);
          if (!batch && q === 'noop' && res.status === 202) {
            // Stored exactly as sent (after the schema, which adds nothing for noop).
            const { rows } = await db.query<{ data: { payload: unknown } }>('SELECT data FROM pgboss.job WHERE id = $1', [answer.id]);
            expect(rows[0]?.data.payload, context).toEqual(JSON.parse(sent as string).payload);
          }
          if (ids.length) {
            const def = getTaskDefinition(q);
            const { rows } = await db.query<{ data: { payload: unknown } }>('SELECT data FROM pgboss.job WHERE id = ANY($1::uuid[])', [
              ids,
            ]);
            expect(rows.length, context).toBe(ids.length);
            for (const row of rows) expect(def?.schema.safeParse(row.data.payload).success, context).toBe(true);
          }
        },
      ),
      { numRuns: 10_000, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
    expect(cases).toBeGreaterThan(1_000);
    // Nothing but the accepted tasks was written.
    expect(await countJobs(db)).toBe(before + accepted.size);
    console.log(`[fuzz] ${cases} submissions, ${accepted.size} accepted, the rest refused with problem+json 4xx`);
  });

  it('reads and actions: ids, queue names and query strings never make a 5xx', { timeout: 120_000 }, async () => {
    let cases = 0;
    const id = fc.oneof(fc.uuid(), text, fc.constantFrom('00000000-0000-0000-0000-000000000000', ...SQL, ...MALFORMED_SEGMENTS));
    const query = fc.dictionary(
      fc.constantFrom('state', 'limit', 'cursor', 'priority', 'x'),
      fc.oneof(text, fc.integer().map(String), fc.constantFrom('ready', 'dead_lettered', 'completed', '-1', '1e9', '0')),
      { maxKeys: 3 },
    );
    await fc.assert(
      fc.asyncProperty(
        queue,
        id,
        query,
        fc.constantFrom('get', 'list', 'cancel', 'retry', 'redrive', 'queue'),
        fc.boolean(),
        async (q, i, qs, op, admin) => {
          cases++;
          const base = `/v1/queues/${segment(q)}`;
          const search = new URLSearchParams(qs as Record<string, string>).toString();
          const [method, path] = {
            get: ['GET', `${base}/tasks/${segment(i)}`],
            list: ['GET', `${base}/tasks?${search}`],
            cancel: ['POST', `${base}/tasks/${segment(i)}:cancel`],
            retry: ['POST', `${base}/tasks/${segment(i)}:retry`],
            redrive: ['POST', `${base}/dead-letter:redrive?${search}`],
            queue: ['GET', base],
          }[op] as [string, string];
          const res = await api.app.request(path, { method, headers: { authorization: `Bearer ${admin ? adminKey : key}` } });
          await expectProblemOrSuccess(res, `${res.status} ${method} ${path}`);
        },
      ),
      { numRuns: 5_000, interruptAfterTimeLimit: TIME_LIMIT_MS / 2, markInterruptAsFailure: false },
    );
    expect(cases).toBeGreaterThan(500);
    console.log(`[fuzz] ${cases} reads and actions, none answered 5xx`);
  });
});
