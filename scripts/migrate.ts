/**
 * `npm run migrate`: apply migrations and sync queues on every shard's primary (DATABASE_SHARDS, or
 * DATABASE_URL alone; the embedded PostgreSQL primaries when neither is set). Replicas get the
 * schema through replication.
 */
import { applyMigrationsToShards, ConfigError, createLogger, loadConfig } from '@taskfleet/core';
import { localDatabase } from './lib/database.ts';

try {
  const config = loadConfig(process.env);
  const logger = createLogger({ role: 'migrate', config });
  const db = await localDatabase(config, logger, { shareRunning: true });
  try {
    for (const result of await applyMigrationsToShards(config, logger, db.shards))
      logger.info(
        {
          ...(db.shards.length > 1 ? { shard: result.shard } : {}),
          applied: result.applied,
          adopted: result.adopted,
          alreadyApplied: result.alreadyApplied,
        },
        result.applied.length ? `applied ${result.applied.length} migration(s)` : 'database is up to date',
      );
  } finally {
    await db.stop();
  }
} catch (err) {
  process.exitCode = 1;
  console.error(err instanceof ConfigError ? err.message : err);
}
