/**
 * Migrations on every shard: each primary of the shard map gets the SQL migrations and the pg-boss
 * queues, one after the other (each under its own migration lock). Replicas get them through
 * replication, never directly.
 */
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { ShardSpec } from '../topology/shard-map.ts';
import { applyMigrations } from './apply.ts';
import type { MigrateResult } from './runner.ts';

export interface ShardMigrateResult extends MigrateResult {
  shard: number;
}

/** `shards` defaults to the configured map (config.database.shards). */
export async function applyMigrationsToShards(
  config: Config,
  logger: Logger,
  shards: readonly ShardSpec[] = config.database.shards,
): Promise<ShardMigrateResult[]> {
  if (shards.length === 0) throw new Error('no database configured: set DATABASE_URL or DATABASE_SHARDS');
  const results: ShardMigrateResult[] = [];
  for (const spec of shards) {
    const shardLogger = shards.length > 1 ? logger.child({ shard: spec.id }) : logger;
    const result = await applyMigrations({ ...config, database: { ...config.database, url: spec.url } }, shardLogger);
    results.push({ shard: spec.id, ...result });
  }
  return results;
}
