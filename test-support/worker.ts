/** A worker on a test database (real pg-boss, real PostgreSQL), stopped by `stop()`. */
import { createBoss, createMetricsRegistry, startBoss } from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import type { Registry } from 'prom-client';
import { createWorker, type HandlerEntry, type Worker } from '@taskfleet/worker';
import type { TestDatabase } from './database.ts';

export interface TestWorker {
  worker: Worker;
  boss: PgBoss;
  metrics: Registry;
  stop(graceSeconds?: number): Promise<void>;
}

/** `supervise`: run pg-boss maintenance every WORKER_MAINTENANCE_INTERVAL_SECONDS, as main.ts does. */
export async function startTestWorker(
  db: TestDatabase,
  env: Record<string, string> = {},
  handlers: HandlerEntry[] = [],
  { supervise = false } = {},
): Promise<TestWorker> {
  const config = db.config({ WORKER_POLL_INTERVAL_MS: '200', ...env });
  const interval = config.worker.maintenanceIntervalSeconds;
  const boss = await startBoss(
    createBoss({
      config,
      role: 'worker',
      logger: db.logger,
      max: config.worker.poolSize,
      supervise,
      listen: false,
      overrides: { superviseIntervalSeconds: interval, monitorIntervalSeconds: interval },
    }),
    db.logger,
  );
  const metrics = createMetricsRegistry('worker');
  const worker = createWorker({ config, boss, logger: db.logger, metrics, handlers });
  await worker.start();
  let stopped = false;
  return {
    worker,
    boss,
    metrics,
    async stop(graceSeconds = 5) {
      if (stopped) return;
      stopped = true;
      await worker.stop(graceSeconds);
      await boss.stop({ graceful: false, close: true });
    },
  };
}

/** Poll `check` until it returns a truthy value (or time out with `what` in the message). */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** pg-boss job states by id. */
export async function states(db: TestDatabase, ids: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; state: string }>('SELECT id, state FROM pgboss.job WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(rows.map((r) => [r.id, r.state]));
}
