/** `taskfleet schedule set|list|delete` against a real API server (real PostgreSQL). */
import { startServer } from '@taskfleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { EXIT } from '../src/cli.ts';
import { runCliCaptured } from './run-cli.ts';

const db = useTestDatabase();
let api: TestApi;
let server: Awaited<ReturnType<typeof startServer>>;
let key = '';
beforeAll(async () => {
  api = await startTestApi(db, { API_AUTH: 'required' });
  server = await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'cli-schedule-api' });
  key = await api.createKey('cli-schedules', ['submit', 'read']);
});
afterAll(async () => {
  await server.close(1_000);
  await api.close();
});

const cli = (args: string[]) => runCliCaptured(args, { TASKFLEET_URL: server.url, TASKFLEET_API_KEY: key });

describe('taskfleet schedule', () => {
  it('sets, lists and deletes a schedule, with usage and refused-input exit codes', async () => {
    const set = await cli([
      'schedule',
      'set',
      'cli-5min',
      '--queue',
      'noop',
      '--cron',
      '*/5 * * * *',
      '--timezone',
      'Europe/Berlin',
      '--payload',
      '{"echo":1}',
      '--priority',
      'high',
    ]);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(EXIT.ok);
    expect(set.stdout).toMatch(/^cli-5min: noop "\*\/5 \* \* \* \*" Europe\/Berlin; next \S+Z; last never\n$/);

    const json = await cli(['schedule', 'list', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      schedules: [{ name: 'cli-5min', payload: { echo: 1 }, options: { priority: 'high' }, timezone: 'Europe/Berlin' }],
    });
    expect((await cli(['schedule', 'list'])).stdout).toMatch(/cli-5min +noop +\*\/5 \* \* \* \* +Europe\/Berlin/);

    const bad = await cli(['schedule', 'set', 'cli-bad', '--queue', 'noop', '--cron', '* * *']);
    expect(bad.code).toBe(EXIT.refused);
    expect(bad.stderr).toMatch(/cron/);
    expect((await cli(['schedule', 'set', 'cli-bad', '--cron', '* * * * *'])).code).toBe(EXIT.usage);
    expect((await cli(['schedule', 'set', 'cli-bad', '--queue', 'noop', '--cron', '* * * * *', '--payload', '{'])).code).toBe(EXIT.usage);
    expect((await cli(['schedule', 'frobnicate'])).code).toBe(EXIT.usage);
    expect((await cli(['schedule', '--help'])).code).toBe(EXIT.ok);

    const deleted = await cli(['schedule', 'delete', 'cli-5min']);
    expect(deleted).toMatchObject({ code: EXIT.ok, stdout: 'deleted schedule cli-5min\n' });
    expect((await cli(['schedule', 'delete', 'cli-5min'])).code).toBe(EXIT.notFound);
    expect((await cli(['schedule', 'list'])).stdout).toBe('no schedules\n');
  });
});
