/** `client.schedules` against a real API server (real PostgreSQL): set, get, list, delete; errors as TaskfleetError. */
import { startServer } from '@taskfleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { createClient, TaskfleetError } from '../src/index.ts';

const db = useTestDatabase();
let api: TestApi;
let server: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  api = await startTestApi(db, { API_AUTH: 'required' });
  server = await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'client-schedules-api' });
});
afterAll(async () => {
  await server.close(1_000);
  await api.close();
});

describe('client.schedules', () => {
  it('sets, reads, lists and deletes a schedule', async () => {
    const client = createClient({ baseUrl: server.url, apiKey: await api.createKey('sdk-schedules', ['submit']) });
    const set = await client.schedules.set('sdk-nightly', {
      queue: 'noop',
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      payload: { echo: 'night' },
      priority: 'low',
    });
    expect(set).toMatchObject({
      name: 'sdk-nightly',
      queue: 'noop',
      timezone: 'Europe/Berlin',
      options: { priority: 'low', group: 'sdk-schedules' },
    });
    expect((await client.schedules.get('sdk-nightly')).nextRunAt).toBe(set.nextRunAt);
    expect((await client.schedules.list()).map((s) => s.name)).toEqual(['sdk-nightly']);
    await client.schedules.delete('sdk-nightly');
    expect(await client.schedules.list()).toEqual([]);
    const missing = await client.schedules.delete('sdk-nightly').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TaskfleetError);
    expect((missing as TaskfleetError).status).toBe(404);
    const invalid = (await client.schedules
      .set('bad', { queue: 'noop', cron: 'every minute', payload: {} })
      .catch((e: unknown) => e)) as TaskfleetError;
    expect(invalid.status).toBe(422);
    expect(invalid.problem?.errors?.map((e) => e.field)).toEqual(['cron']);
  });
});
