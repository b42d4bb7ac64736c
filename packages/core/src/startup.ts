/**
 * Start-up checks shared by the API and the worker: pg-boss starts, and the database is at this
 * release's schema (pg-boss's, taskfleet's migrations, the queues of every task type).
 */
import type { PgBoss } from 'pg-boss';
import type { Logger } from './logger.ts';
import { assertSchemaCurrent, SchemaBehindError } from './migrations/runner.ts';
import { missingQueues } from './queue-sync.ts';

/**
 * Start a pg-boss instance for an app, refusing with a clear message when the database is behind
 * this release (pg-boss schema, taskfleet migrations or queues).
 */
export async function startBoss(boss: PgBoss, logger: Logger): Promise<PgBoss> {
  try {
    await boss.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/not installed|requires migrations/.test(message)) {
      throw new SchemaBehindError([`pg-boss schema (${message})`]);
    }
    throw err;
  }
  const db = boss.getDb();
  await assertSchemaCurrent((text, values) => db.executeSql(text, values), logger);
  const missing = await missingQueues(boss);
  if (missing.length > 0) throw new SchemaBehindError([`queues ${missing.join(', ')}`]);
  return boss;
}
