/** The ingest insert must store exactly what pg-boss's own insert() stores for the same options. */
import { describe, expect, it } from 'vitest';
import { executorOf } from '@taskfleet/core';
import { useTestBoss } from '../../../../test-support/boss.ts';
import { useTestDatabase } from '../../../../test-support/database.ts';
import { insertTasks } from '@taskfleet/core';
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
