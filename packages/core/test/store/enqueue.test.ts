/** The ingest insert must store exactly what pg-boss's own insert() stores for the same options. */
import { describe, expect, it } from 'vitest';
import { executorOf } from '@taskfleet/core';
import { useTestBoss } from '../../../../test-support/boss.ts';
import { useTestDatabase } from '../../../../test-support/database.ts';
import { insertTasks, NOTIFY_CHANNEL, QueueWaker } from '@taskfleet/core';
import pg from 'pg';
import { randomUUID as uuidv7 } from 'node:crypto';

const db = useTestDatabase();
const boss = useTestBoss(db, 2);

const COLUMNS = `name, data, priority, state, retry_limit, retry_count, retry_delay, retry_backoff, retry_delay_max, expire_seconds,
  deletion_seconds, singleton_key, singleton_on, group_id, policy, dead_letter, heartbeat_seconds, blocked, blocking, pending_dependencies,
  extract(epoch FROM keep_until - start_after)::int AS retention, extract(epoch FROM start_after - created_on)::int AS delay`;

describe('insertTasks', () => {
  it.each([
    ['defaults', {}],
    ['overrides', { priority: 30, retryLimit: 6, expireInSeconds: 42 }],
    ['delay', { startAfter: 120 }],
    ['runAt', { startAfter: '2031-01-01T00:00:00.000Z' }],
    ['group', { group: { id: 'tenant-a' } }],
  ])('matches pg-boss() insert() column by column: %s', async (_name, options) => {
    const data = { payload: { a: 1 }, meta: { submitter: null } };
    const ours = uuidv7();
    const theirs = uuidv7();
    expect(await insertTasks(executorOf(boss()), 'noop', [{ id: ours, data, ...options }])).toEqual([ours]);
    await boss().insert('noop', [{ id: theirs, data, ...options }]);
    const { rows } = await db.query(`SELECT id, ${COLUMNS} FROM pgboss.job WHERE id = ANY($1::uuid[])`, [[ours, theirs]]);
    const a = rows.find((r) => r.id === ours);
    const b = rows.find((r) => r.id === theirs);
    expect({ ...a, id: undefined }).toEqual({ ...b, id: undefined });
  });

  it('skips ids that exist and reports only the inserted ones', async () => {
    const id = uuidv7();
    const exec = executorOf(boss());
    expect(await insertTasks(exec, 'noop', [{ id, data: {} }])).toEqual([id]);
    const other = uuidv7();
    expect(
      await insertTasks(exec, 'noop', [
        { id, data: {} },
        { id: other, data: {} },
      ]),
    ).toEqual([other]);
  });
});

describe('waking the workers after an insert', () => {
  /** NOTIFY payloads on pg-boss's channel while `fn` runs (a LISTEN on its own connection). */
  async function notifications(fn: () => Promise<void>): Promise<string[]> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const got: string[] = [];
    client.on('notification', (n) => {
      if (n.channel === NOTIFY_CHANNEL) got.push(n.payload ?? '');
    });
    try {
      await client.query(`LISTEN "${NOTIFY_CHANNEL}"`);
      await fn();
      await client.query('SELECT 1'); // notifications sent before this round trip have arrived
      return got;
    } finally {
      await client.end();
    }
  }

  it('notifies after the commit when a task can run now, and not for scheduled tasks', async () => {
    const exec = executorOf(boss());
    const waker = new QueueWaker(exec);
    const woken: string[] = [];
    const wake = (queue: string) => {
      woken.push(queue);
      waker.wake(queue);
    };
    const got = await notifications(async () => {
      await insertTasks(exec, 'noop', [{ id: uuidv7(), data: {}, startAfter: 3600 }], wake);
      expect(woken).toEqual([]);
      await insertTasks(exec, 'noop', [{ id: uuidv7(), data: {} }], wake);
      expect(woken).toEqual(['noop']);
      await waker.idle();
    });
    expect(got).toEqual(['noop']);
    // Without a waker the insert notifies by itself.
    expect(await notifications(async () => void (await insertTasks(exec, 'noop', [{ id: uuidv7(), data: {} }])))).toEqual(['noop']);
  });

  it('keeps one NOTIFY per queue in flight and sends one more for what came meanwhile', async () => {
    const waker = new QueueWaker(executorOf(boss()));
    const got = await notifications(async () => {
      for (let i = 0; i < 50; i++) waker.wake('noop');
      waker.wake('http.request');
      await waker.idle();
    });
    expect(waker.sent).toBe(3); // noop, noop again (for the 49 behind the first), http.request
    expect(got.sort()).toEqual(['http.request', 'noop', 'noop']);
  });
});
