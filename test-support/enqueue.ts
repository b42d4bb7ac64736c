/** Enqueue straight through the API's insert (no HTTP), for worker tests. */
import { PRIORITIES, type PriorityName } from '@taskfleet/core';
import pg from 'pg';
import { uuidv7 } from '@taskfleet/core';
import { insertTasks } from '@taskfleet/core';
import type { TestDatabase } from './database.ts';

export interface TestTask {
  payload?: unknown;
  priority?: PriorityName;
  maxAttempts?: number;
  timeoutSeconds?: number;
  delaySeconds?: number;
  /** The fairness group (pg-boss group_id). */
  group?: string;
}

export async function enqueue(db: TestDatabase, queue: string, tasks: TestTask[]): Promise<string[]> {
  const client = new pg.Client(db.url);
  await client.connect();
  try {
    const rows = tasks.map((t) => ({
      id: uuidv7(),
      data: { payload: t.payload ?? {}, meta: { submitter: null, ...(t.timeoutSeconds ? { timeoutSeconds: t.timeoutSeconds } : {}) } },
      priority: PRIORITIES[t.priority ?? 'normal'],
      ...(t.maxAttempts ? { retryLimit: t.maxAttempts - 1 } : {}),
      ...(t.timeoutSeconds ? { expireInSeconds: t.timeoutSeconds + 30 } : {}),
      ...(t.delaySeconds ? { startAfter: t.delaySeconds } : {}),
      ...(t.group ? { group: { id: t.group } } : {}),
    }));
    await insertTasks((text, values) => client.query(text as never, values), queue, rows);
    return rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}
