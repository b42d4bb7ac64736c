/**
 * `npm run migrate`: the SQL migrations, then the pg-boss queues for every task type, all under the
 * one migration lock.
 */
import type { Config } from '../config.ts';
import { requireDatabaseUrl } from '../config.ts';
import { createBoss } from '../db.ts';
import type { Logger } from '../logger.ts';
import { syncQueues } from '../queue-sync.ts';
import { loadTaskModules } from '../tasks/modules.ts';
import { type MigrateResult, migrate } from './runner.ts';

export async function applyMigrations(config: Config, logger: Logger, dir?: string): Promise<MigrateResult> {
  await loadTaskModules(config.taskModules);
  return migrate({
    databaseUrl: requireDatabaseUrl(config),
    logger,
    ...(dir ? { dir } : {}),
    whileLocked: async () => {
      const boss = createBoss({ config, role: 'migrate', logger, max: 2, supervise: false, listen: false });
      await boss.start();
      try {
        await syncQueues(boss, logger);
      } finally {
        await boss.stop({ graceful: false, close: true });
      }
    },
  });
}
