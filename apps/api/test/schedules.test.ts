/**
 * /v1/schedules: create, replace, read, list, delete; every bad field named in a 422; the scope
 * rules of tasks (submit to set, read to see others', admin to change others').
 */
import type { ScheduleView } from '@taskfleet/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';

const db = useTestDatabase();
let api: TestApi;
let secured: TestApi;
beforeAll(async () => {
  api = await startTestApi(db);
  secured = await startTestApi(db, { API_AUTH: 'required' });
});
afterAll(async () => {
  await api.close();
  await secured.close();
});

const put = (name: string, body: unknown, on: TestApi = api, key?: string) =>
  on.request(`/v1/schedules/${name}`, { method: 'PUT', json: body, ...(key ? { key } : {}) });

const fieldsOf = async (res: Response) => ((await res.json()) as { errors: { field: string; message: string }[] }).errors;

describe('PUT/GET/DELETE /v1/schedules/{name}', () => {
  it('creates (201), replaces (200), shows, lists and deletes a schedule', async () => {
    const created = await put('every-5', { queue: 'noop', cron: '*/5 * * * *', payload: {}, priority: 'high', maxAttempts: 3 });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toMatch(/\/v1\/schedules\/every-5$/);
    const view = (await created.json()) as ScheduleView;
    expect(view).toMatchObject({
      name: 'every-5',
      queue: 'noop',
      cron: '*/5 * * * *',
      timezone: 'UTC',
      payload: {},
      options: { priority: 'high', maxAttempts: 3 },
      lastRunAt: null,
      lastTaskId: null,
    });
    const next = new Date(view.nextRunAt);
    expect(next.getUTCMinutes() % 5).toBe(0);
    expect(next.getTime()).toBeGreaterThan(Date.now() - 5_000);
    expect(next.getTime()).toBeLessThanOrEqual(Date.now() + 5 * 60_000 + 5_000);

    // Same cron and zone: the next slot stays; another cron: recomputed.
    const replaced = await put('every-5', { queue: 'noop', cron: '*/5  *  * * *', payload: { echo: 2 } });
    expect(replaced.status).toBe(200);
    const again = (await replaced.json()) as ScheduleView;
    expect(again).toMatchObject({ payload: { echo: 2 }, options: {}, nextRunAt: view.nextRunAt, createdAt: view.createdAt });
    const berlin = (await (
      await put('every-5', { queue: 'noop', cron: '0 9 * * *', timezone: 'Europe/Berlin', payload: {} })
    ).json()) as ScheduleView;
    expect(berlin.timezone).toBe('Europe/Berlin');
    expect(new Date(berlin.nextRunAt).toLocaleString('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' })).toBe(
      '09:00',
    );

    expect(((await (await api.request('/v1/schedules/every-5')).json()) as ScheduleView).cron).toBe('0 9 * * *');
    const list = (await (await api.request('/v1/schedules')).json()) as { schedules: ScheduleView[] };
    expect(list.schedules.map((s) => s.name)).toContain('every-5');

    expect((await api.request('/v1/schedules/every-5', { method: 'DELETE' })).status).toBe(204);
    const gone = await api.request('/v1/schedules/every-5', { method: 'DELETE' });
    expect(gone.status).toBe(404);
    expect(gone.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await api.request('/v1/schedules/every-5')).status).toBe(404);
  });

  it('names every bad field in a 422', async () => {
    const cases: [unknown, string[]][] = [
      [{ queue: 'nope', cron: '* * * * *', payload: {} }, ['queue']],
      [{ queue: 'noop.dead', cron: '* * * * *', payload: {} }, ['queue']],
      [{ queue: 'taskfleet.callback', cron: '* * * * *', payload: {} }, ['queue']],
      [{ queue: 'noop', cron: '* * * *', payload: {} }, ['cron']],
      [{ queue: 'noop', cron: '61 * * * *', payload: {} }, ['cron']],
      [{ queue: 'noop', cron: '* * * * *', timezone: 'Mars/Olympus', payload: {} }, ['timezone']],
      [{ queue: 'http.request', cron: '* * * * *', payload: { url: 'not a url' } }, ['payload.url']],
      [{ queue: 'http.request', cron: '* * * * *' }, ['payload']],
      [{ queue: 'noop', cron: '* * * * *', payload: {}, priority: 'urgent', maxAttempts: 0 }, ['priority', 'maxAttempts']],
      [{ queue: 'noop', cron: '* * * * *', payload: {}, runAt: '2030-01-01T00:00:00Z' }, ['(body)']],
      [{ cron: '* * * * *', payload: {} }, ['queue']],
    ];
    for (const [body, fields] of cases) {
      const res = await put('bad', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect((await fieldsOf(res)).map((e) => e.field).sort(), JSON.stringify(body)).toEqual([...fields].sort());
    }
    const badName = await put('-bad name', { queue: 'noop', cron: '* * * * *', payload: {} });
    expect(badName.status).toBe(422);
    expect((await fieldsOf(badName)).map((e) => e.field)).toEqual(['name']);
    expect((await api.request('/v1/schedules/bad')).status).toBe(404);
  });

  it('answers any name and body below 500: a schedule as sent, or a problem naming the field', { timeout: 60_000 }, async () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.constantFrom(
        '* * * * *',
        '*/5 1-3 * jan mon',
        '0 0 31 2 *',
        "'; DROP TABLE x; --",
        '\u0000',
        'UTC',
        'Europe/Berlin',
        'noop',
        'http.request',
      ),
    );
    const value = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.dictionary(text, text, { maxKeys: 3 }));
    const body = fc.oneof(
      value,
      fc.record(
        { queue: value, cron: value, timezone: value, payload: value, priority: value, maxAttempts: value, group: value },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(text, body, async (name, b) => {
        const res = await api.request(`/v1/schedules/${encodeURIComponent(name)}`, { method: 'PUT', json: b });
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          const problem = (await res.json()) as { status: number; errors?: { field: string }[] };
          expect(problem.status).toBe(res.status);
          if (res.status === 422) expect(problem.errors?.length).toBeGreaterThan(0);
        } else expect([200, 201]).toContain(res.status);
      }),
      { numRuns: 300 },
    );
    await db.query('DELETE FROM taskfleet.schedules');
  });

  it('follows the task scopes: submit sets its own, read sees all, admin changes others', async () => {
    const alice = await secured.createKey('alice', ['submit']);
    const bob = await secured.createKey('bob', ['submit']);
    const reader = await secured.createKey('reader', ['read']);
    const admin = await secured.createKey('admin', ['admin']);
    const body = { queue: 'noop', cron: '0 * * * *', payload: {} };
    expect((await secured.request('/v1/schedules')).status).toBe(401);
    const created = await put('alice-hourly', body, secured, alice);
    expect(created.status).toBe(201);
    expect(((await created.json()) as ScheduleView).options.group).toBe('alice');
    expect((await put('reader-one', body, secured, reader)).status).toBe(403);
    expect((await put('alice-hourly', body, secured, bob)).status).toBe(403);
    expect((await secured.request('/v1/schedules/alice-hourly', { key: bob })).status).toBe(404);
    const bobs = (await (await secured.request('/v1/schedules', { key: bob })).json()) as { schedules: ScheduleView[] };
    expect(bobs.schedules).toEqual([]);
    expect((await secured.request('/v1/schedules/alice-hourly', { key: reader })).status).toBe(200);
    expect((await secured.request('/v1/schedules/alice-hourly', { key: bob, method: 'DELETE' })).status).toBe(404);
    expect((await secured.request('/v1/schedules/alice-hourly', { key: reader, method: 'DELETE' })).status).toBe(403);
    // An admin's replacement keeps the owner: alice still sees and deletes it.
    expect((await put('alice-hourly', { ...body, cron: '30 * * * *' }, secured, admin)).status).toBe(200);
    expect((await secured.request('/v1/schedules', { key: alice }).then((r) => r.json())) as { schedules: ScheduleView[] }).toMatchObject({
      schedules: [{ name: 'alice-hourly', cron: '30 * * * *' }],
    });
    expect((await secured.request('/v1/schedules/alice-hourly', { key: alice, method: 'DELETE' })).status).toBe(204);
  });
});
