/** `npm run migrate`: apply migrations and sync queues (embedded PostgreSQL when DATABASE_URL is unset). */
import { applyMigrations, ConfigError, createLogger, loadConfig } from '@taskfleet/core';
import { localDatabase } from './lib/database.ts';

try {
  const config = loadConfig(process.env);
  const logger = createLogger({ role: 'migrate', config });
  const db = await localDatabase(config, logger, { shareRunning: true });
  try {
    const result = await applyMigrations({ ...config, database: { ...config.database, url: db.url } }, logger);
    logger.info(
      { applied: result.applied, adopted: result.adopted, alreadyApplied: result.alreadyApplied },
      result.applied.length ? `applied ${result.applied.length} migration(s)` : 'database is up to date',
    );
  } finally {
    await db.stop();
  }
} catch (err) {
  process.exitCode = 1;
  console.error(err instanceof ConfigError ? err.message : err);
}
