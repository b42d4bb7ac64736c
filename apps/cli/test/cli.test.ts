/**
 * The CLI against a real API server: JSON and table output, --help for every command, and exit
 * codes that mean something (usage 2, not found 3, refused input 4, unavailable 5, unauthorized 6).
 * `apikey` runs the real script against the test database.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer } from '@taskfleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { enqueue } from '../../../test-support/enqueue.ts';
import { startTestWorker, waitFor } from '../../../test-support/worker.ts';
import { EXIT, table } from '../src/cli.ts';
import { runCliCaptured } from './run-cli.ts';

const db = useTestDatabase();
let api: TestApi;
let server: Awaited<ReturnType<typeof startServer>>;
let key = '';
beforeAll(async () => {
  api = await startTestApi(db, { API_AUTH: 'required' });
  server = await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'cli-test-api' });
  key = await api.createKey('cli', ['admin', 'submit', 'read']);
});
afterAll(async () => {
  await server.close(1_000);
  await api.close();
});

const cli = (args: string[], env: Record<string, string> = {}) =>
  runCliCaptured(args, { TASKFLEET_URL: server.url, TASKFLEET_API_KEY: key, ...env });

describe('taskfleet CLI', () => {
  it('has --help for every command', async () => {
    for (const command of [
      'enqueue',
      'get',
      'tasks',
      'cancel',
      'retry',
      'queues',
      'queue',
      'workers',
      'dlq',
      'apikey',
      'migrate',
      'start',
    ]) {
      const r = await cli([command, '--help']);
      expect(r.code, command).toBe(EXIT.ok);
      expect(r.stdout, command).toMatch(new RegExp(`usage: taskfleet ${command}`));
    }
    expect((await cli([])).stdout).toMatch(/Exit codes: 0 ok/);
    for (const args of [['--help'], ['-h'], ['help'], ['help', 'get'], ['--help', 'get']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(EXIT.ok);
      expect(r.stdout, args.join(' ')).toMatch(args.includes('get') ? /usage: taskfleet get/ : /Exit codes: 0 ok/);
      expect(r.stderr, args.join(' ')).toBe('');
    }
    expect((await cli(['frobnicate'])).code).toBe(EXIT.usage);
    expect((await cli(['enqueue'])).code).toBe(EXIT.usage);
    expect((await cli(['enqueue', 'noop', '{not json'])).code).toBe(EXIT.usage);
    expect((await cli(['tasks', 'noop', '--limit', 'ten'])).code).toBe(EXIT.usage);
    expect((await cli(['queues', '--bogus'])).code).toBe(EXIT.usage);
  });

  it('pauses, limits, shows and resumes a queue', async () => {
    const set = await cli([
      'queue',
      'set',
      'noop',
      '--paused',
      '--concurrency',
      '20',
      '--rate',
      '500/10s',
      '--group-concurrency',
      '4',
      '--json',
    ]);
    expect(set.code, set.stderr).toBe(EXIT.ok);
    expect(JSON.parse(set.stdout).settings).toEqual({
      paused: true,
      concurrency: 20,
      rate: { limit: 500, periodSeconds: 10 },
      groupConcurrency: 4,
    });
    const shown = await cli(['queue', 'show', 'noop']);
    expect(shown.stdout).toMatch(/noop: paused; concurrency 20; rate 500 per 10 s; per group 4/);
    const resumed = await cli([
      'queue',
      'set',
      'noop',
      '--resume',
      '--concurrency',
      'none',
      '--rate',
      'none',
      '--group-concurrency',
      'none',
    ]);
    expect(resumed.stdout).toMatch(/noop: running; concurrency unlimited; rate unlimited; per group unlimited/);
    expect((await cli(['queue', 'set', 'noop'])).code).toBe(EXIT.usage);
    expect((await cli(['queue', 'set', 'noop', '--rate', 'fast'])).code).toBe(EXIT.usage);
    expect((await cli(['queue', 'set', 'noop', '--paused', '--resume'])).code).toBe(EXIT.usage);
    expect((await cli(['queue', 'set', 'nope', '--paused'])).code).toBe(EXIT.notFound);
    expect((await cli(['queue', 'set', 'noop', '--concurrency', '0'])).code).toBe(EXIT.refused);
    expect((await cli(['queue', 'set', 'noop', '--group-concurrency', 'two'])).code).toBe(EXIT.usage);
  });

  it('enqueues, shows, lists, cancels and retries', async () => {
    const sub = await cli(['enqueue', 'noop', '{"echo":"hi"}', '--priority', 'high', '--delay', '600', '--json']);
    expect(sub.code).toBe(EXIT.ok);
    const task = JSON.parse(sub.stdout) as { id: string; state: string };
    expect(task).toMatchObject({ state: 'scheduled' });
    const human = await cli(['get', 'noop', task.id]);
    expect(human.stdout).toContain(`noop ${task.id} scheduled`);
    expect(human.stdout).toContain('payload: {"echo":"hi"}');
    expect(human.stdout).toContain('priority high');
    const list = await cli(['tasks', 'noop', '--state', 'scheduled']);
    expect(list.stdout.split('\n')[0]).toMatch(/^id\s+state\s+priority\s+attempts/);
    expect(list.stdout).toContain(task.id);
    expect((await cli(['cancel', 'noop', task.id])).stdout).toMatch(/^cancelled: noop .* cancelled/);
    expect((await cli(['retry', 'noop', task.id, '--json'])).code).toBe(EXIT.ok);
  });

  it('waits for a task with --wait and exits by its outcome', async () => {
    const worker = await startTestWorker(db);
    try {
      const ok = await cli(['enqueue', 'noop', '{"echo":1}', '--wait', '--json']);
      expect(ok.code).toBe(EXIT.ok);
      expect(JSON.parse(ok.stdout)).toMatchObject({ state: 'completed', output: { echo: 1 } });
      const bad = await cli(['enqueue', 'noop', '{"failPermanently":true}', '--wait']);
      expect(bad.code).toBe(EXIT.failed);
      expect(bad.stdout).toMatch(/dead_lettered|failed/);
      const workers = await cli(['workers', '--json']);
      await waitFor(
        async () => (JSON.parse((await cli(['workers', '--json'])).stdout) as { totals: { replicas: number } }).totals.replicas === 1,
        'worker listed',
      );
      expect(workers.code).toBe(EXIT.ok);
    } finally {
      await worker.stop();
    }
  });

  it('prints queues as a table and handles the dead-letter queue', async () => {
    const [dead] = await enqueue(db, 'noop.dead', [{ payload: {} }]);
    expect(dead).toBeDefined();
    const queues = await cli(['queues']);
    expect(queues.stdout.split('\n')[0]).toMatch(/^queue\s+ready\s+scheduled\s+retrying\s+running/);
    expect(queues.stdout).toMatch(/^noop\s/m);
    const redrive = await cli(['dlq', 'redrive', 'noop', '--json']);
    expect(redrive.code).toBe(EXIT.ok);
    expect(JSON.parse(redrive.stdout)).toMatchObject({ queue: 'noop', deadLetterQueue: 'noop.dead' });
    expect((await cli(['dlq', 'list', 'noop'])).code).toBe(EXIT.ok);
    expect((await cli(['dlq', 'purge', 'noop'])).code).toBe(EXIT.usage);
  });

  it('enqueues with a dedup window: one task per key and window', async () => {
    const args = ['enqueue', 'noop', '{}', '--dedupe', `cli-${process.pid}`, '--dedupe-seconds', '86400', '--json'];
    const first = JSON.parse((await cli(args)).stdout) as { id: string };
    const again = JSON.parse((await cli(args)).stdout) as { id: string; dedupe: { mode: string } };
    expect(again.id).toBe(first.id);
    expect(again.dedupe.mode).toBe('throttle');
    expect((await cli(['enqueue', 'noop', '{}', '--dedupe', 'k'])).code).toBe(EXIT.usage);
    expect((await cli(['enqueue', 'noop', '{}', '--debounce'])).code).toBe(EXIT.usage);
  });

  it('enqueues with a callback URL and shows it with get (no progress line before any is reported)', async () => {
    const sent = JSON.parse(
      (await cli(['enqueue', 'noop', '{}', '--delay', '600', '--callback', 'https://example.com/done', '--json'])).stdout,
    );
    const shown = await cli(['get', 'noop', sent.id]);
    expect(shown.stdout).toContain('callback: https://example.com/done');
    expect(shown.stdout).not.toContain('progress:');
    const bad = await cli(['enqueue', 'noop', '{}', '--callback', 'ftp://example.com']);
    expect(bad.code).toBe(EXIT.refused);
    expect(bad.stderr).toMatch(/callback\.url/);
  });

  it('maps failures to exit codes', async () => {
    expect((await cli(['get', 'noop', '00000000-0000-7000-8000-000000000000'])).code).toBe(EXIT.notFound);
    const refused = await cli(['enqueue', 'noop', '{"sleepMs":-1}']);
    expect(refused.code).toBe(EXIT.refused);
    expect(refused.stderr).toMatch(/payload\.sleepMs/);
    expect((await cli(['queues'], { TASKFLEET_API_KEY: 'tf_nope' })).code).toBe(EXIT.unauthorized);
    expect((await cli(['queues'], { TASKFLEET_URL: 'http://127.0.0.1:1' })).code).toBe(EXIT.unavailable);
    // A port nothing listens on: the message names the URL and the cause, not "fetch failed".
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = await cli(['queues'], { TASKFLEET_URL: `http://127.0.0.1:${port}` });
    expect(down.code).toBe(EXIT.unavailable);
    expect(down.stderr).toContain(`could not connect to http://127.0.0.1:${port}: connection refused — is the API running?`);
  });

  it('manages API keys through the real script', async () => {
    // From source: the client's `taskfleet-source` export condition (its default is the built dist/).
    const bin = path.resolve(import.meta.dirname, '../src/main.ts');
    const exec = promisify(execFile);
    const run = (node: string, args: string[], o: { env: NodeJS.ProcessEnv }) => exec(node, ['--conditions=taskfleet-source', ...args], o);
    const env = { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' };
    const created = await run(process.execPath, [bin, 'apikey', 'create', '--name', 'from-cli', '--scopes', 'read', '--json'], { env });
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'from-cli', scopes: ['read'] });
    const listed = await run(process.execPath, [bin, 'apikey', 'list', '--json'], { env });
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((k) => k.name)).toContain('from-cli');
    const failed = await run(process.execPath, [bin, 'apikey', 'revoke', '--name', 'no-such-key'], { env }).catch(
      (e: { code: number }) => e,
    );
    expect((failed as { code: number }).code).toBe(2); // the script's refusal code
  });

  it('formats tables with aligned columns', () => {
    expect(
      table([
        { a: 'x', n: 1 },
        { a: 'long', n: 100 },
      ]),
    ).toBe('a       n\n----  ---\nx       1\nlong  100');
  });
});
