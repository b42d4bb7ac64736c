/** Dead-letter and redrive through the API, with a real worker. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { startTestWorker, waitFor } from '../../../test-support/worker.ts';
import { noopTask } from '@taskfleet/core';
import { defineHandler } from '../../worker/src/handlers/types.ts';

const db = useTestDatabase();
let api: TestApi;
let admin: string;
let submitter: string;
beforeAll(async () => {
  api = await startTestApi(db, { API_AUTH: 'required' });
  admin = await api.createKey('ops', ['admin']);
  submitter = await api.createKey('svc', ['submit']);
});
afterAll(() => api.close());

describe('dead-letter redrive', () => {
  it('lists dead-lettered tasks and moves them back to be run again', async () => {
    const res = await api.request('/v1/queues/noop/tasks', { json: { payload: { echo: 'x' }, maxAttempts: 1 }, key: submitter });
    const { id } = (await res.json()) as { id: string };
    let receiverDown = true; // the handler fails until the "receiver" is back
    const handler = defineHandler(noopTask, async () => {
      if (receiverDown) throw new Error('receiver down');
      return { delivered: true };
    });
    const worker = await startTestWorker(db, {}, [handler]);
    try {
      await waitFor(
        async () =>
          ((await (await api.request(`/v1/queues/noop/tasks/${id}`, { key: submitter })).json()) as { state: string }).state ===
          'dead_lettered',
        'dead-lettered',
      );
      const dead = (await (await api.request('/v1/queues/noop.dead/tasks', { key: admin })).json()) as {
        tasks: { id: string; source: { id: string }; payload: unknown }[];
      };
      expect(dead.tasks).toHaveLength(1);
      expect(dead.tasks[0]?.source.id).toBe(id);
      // The submitter can see its own dead-lettered copy but not redrive.
      expect((await api.request('/v1/queues/noop/dead-letter:redrive', { method: 'POST', key: submitter })).status).toBe(403);
      receiverDown = false;
      const redrive = await api.request('/v1/queues/noop/dead-letter:redrive', { json: { limit: 10 }, key: admin });
      expect(redrive.status).toBe(200);
      expect(await redrive.json()).toEqual({ queue: 'noop', deadLetterQueue: 'noop.dead', moved: 1 });
      // Back in noop as a new job whose root is the original task, and run again.
      const done = await waitFor(
        async () =>
          (await db.query(`SELECT output FROM pgboss.job WHERE name = 'noop' AND state = 'completed' AND source_root_id = $1`, [id]))
            .rows[0],
        'redriven task completed',
      );
      expect(done.output).toEqual({ delivered: true });
      expect((await db.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop.dead'`)).rows[0].n).toBe(0);
    } finally {
      await worker.stop(1);
    }
  });

  it('validates the body and refuses unknown queues', async () => {
    expect((await api.request('/v1/queues/noop/dead-letter:redrive', { json: { limit: 0 }, key: admin })).status).toBe(422);
    expect((await api.request('/v1/queues/nope/dead-letter:redrive', { json: {}, key: admin })).status).toBe(404);
  });
});
