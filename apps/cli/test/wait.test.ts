/**
 * Waiting and dependencies from the CLI and the SDK, against a real API server (long-poll over
 * HTTP) and a real worker: `taskfleet get --wait`, `enqueue --depends-on … --wait`, and
 * `client.waitFor` answering when the task ends rather than at a polling interval.
 */
import { createClient } from '@taskfleet/client';
import { startServer } from '@taskfleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestWorker, waitFor } from '../../../test-support/worker.ts';
import { EXIT } from '../src/cli.ts';
import { runCliCaptured } from './run-cli.ts';

const db = useTestDatabase();
let api: TestApi;
let server: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  api = await startTestApi(db);
  server = await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'cli-wait-test-api' });
  await waitFor(() => api.longPoll.listener.up, 'the LISTEN connection');
});
afterAll(async () => {
  await server.close(1_000);
  await api.close();
});

const cli = (args: string[]) => runCliCaptured(args, { TASKFLEET_URL: server.url });

describe('waiting for a task', () => {
  it('get --wait answers once the task has ended; enqueue --depends-on runs after its dependency', async () => {
    const first = JSON.parse((await cli(['enqueue', 'noop', '{"sleepMs":300,"echo":"first"}', '--json'])).stdout) as { id: string };
    const second = await cli(['enqueue', 'noop', '{"echo":"second"}', '--depends-on', first.id, '--json']);
    expect(second.code).toBe(EXIT.ok);
    const receipt = JSON.parse(second.stdout) as { id: string; state: string };
    expect(receipt.state).toBe('waiting');

    const timedOut = await cli(['get', 'noop', receipt.id, '--wait', '1']);
    expect(timedOut.code).toBe(EXIT.unavailable);

    const worker = await startTestWorker(db);
    try {
      const waited = await cli(['get', 'noop', receipt.id, '--wait', '30', '--json']);
      expect(waited.code, waited.stderr).toBe(EXIT.ok);
      const task = JSON.parse(waited.stdout) as { state: string; dependsOn: { id: string }[] };
      expect(task.state).toBe('completed');
      expect(task.dependsOn).toEqual([{ queue: 'noop', id: first.id }]);
      const table = await cli(['get', 'noop', receipt.id]);
      expect(table.stdout).toContain(`depends on: noop ${first.id}`);

      const failing = await cli(['enqueue', 'noop', '{"failPermanently":true}', '--wait', '--wait-timeout', '30']);
      expect(failing.code).toBe(EXIT.failed);
    } finally {
      await worker.stop(1);
    }
  });

  it('client.waitFor answers when the task ends (long-poll), not at a polling interval', async () => {
    const client = createClient({ baseUrl: server.url });
    const receipt = await client.enqueue('noop', {});
    const waiting = client.waitFor('noop', receipt.id, { timeoutSeconds: 30 });
    await waitFor(() => api.longPoll.waiters.size === 1, 'the long-poll waiter');
    const cancelledAt = Date.now();
    await client.cancel('noop', receipt.id);
    const task = await waiting;
    expect(task.state).toBe('cancelled');
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
    await expect(client.waitFor('noop', (await client.enqueue('noop', {})).id, { timeoutSeconds: 1 })).rejects.toThrow(/still queued/);
  });
});
