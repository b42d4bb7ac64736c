/**
 * `test.ledger`: a task type for the reliability suite, loaded through TASK_MODULES by real API and
 * worker processes. Every execution first records (task id, attempt, worker pid) in the `test_ledger`
 * table, then behaves as the payload says — so a scenario can account for every acknowledged task and
 * explain every re-run. Modes: `ok` (sleep, then succeed), `throw` (fail every attempt), `hang` (ignore
 * the deadline signal and never return), `crash` (take the whole worker process down).
 */
import { defineTask } from '@taskfleet/core';
import pg from 'pg';
import { z } from 'zod';
import type { TaskContext } from '@taskfleet/worker';

export const ledgerTask = defineTask({
  name: 'test.ledger',
  description: 'Records each execution in test_ledger, then succeeds, throws, hangs or crashes the worker. Reliability tests only.',
  schema: z.strictObject({
    key: z.string().max(200),
    mode: z.enum(['ok', 'throw', 'hang', 'crash']).default('ok'),
    sleepMs: z.number().int().min(0).max(60_000).default(0),
  }),
  defaults: { maxAttempts: 3, retryDelaySeconds: 1, retryBackoff: false, timeoutSeconds: 2, heartbeatSeconds: 10 },
});

export const LEDGER_TABLE_SQL = `CREATE TABLE IF NOT EXISTS test_ledger (
  seq bigserial PRIMARY KEY,
  task_id uuid NOT NULL,
  attempt int NOT NULL,
  pid int NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
)`;

let pool: pg.Pool | undefined;

function ledgerPool(url: string): pg.Pool {
  if (!pool) {
    pool = new pg.Pool({ connectionString: url, max: 4, allowExitOnIdle: true, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => {}); // an idle client lost in a database outage; the next insert reconnects
  }
  return pool;
}

type Payload = z.output<typeof ledgerTask.schema>;

async function handle(payload: Payload, ctx: TaskContext): Promise<unknown> {
  const url = ctx.config.database.url;
  if (!url) throw new Error('test.ledger needs DATABASE_URL');
  await ledgerPool(url).query('INSERT INTO test_ledger (task_id, attempt, pid) VALUES ($1, $2, $3)', [ctx.jobId, ctx.attempt, process.pid]);
  switch (payload.mode) {
    case 'throw':
      throw new Error(`poison task ${payload.key}`);
    case 'hang':
      return new Promise(() => {}); // ignores ctx.signal on purpose
    case 'crash':
      setImmediate(() => {
        throw new Error(`poison task ${payload.key} crashed the worker`);
      });
      return new Promise(() => {});
    default:
      if (payload.sleepMs > 0) await new Promise((r) => setTimeout(r, payload.sleepMs));
      return { key: payload.key, pid: process.pid };
  }
}

export const tasks = [{ definition: ledgerTask, handle: handle as (payload: unknown, ctx: never) => Promise<unknown> }];
