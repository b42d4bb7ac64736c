export { MIGRATIONS_DIR, readMigrations, type MigrationFile } from './files.ts';
export {
  assertSchemaCurrent,
  migrate,
  MIGRATION_LOCK_KEY,
  SchemaBehindError,
  schemaStatus,
  type MigrateResult,
  type SchemaStatus,
} from './runner.ts';
export { applyMigrations } from './apply.ts';
export { applyMigrationsToShards, type ShardMigrateResult } from './shards.ts';
