/**
 * The one migration runner. Safe to run from several replicas at once: a session advisory lock
 * serialises them, and each file is applied once and recorded with its checksum. Editing an applied
 * file is refused (migrations are append-only). After the SQL, the pg-boss queues for every task
 * type are created or brought in line with their definitions.
 */
import type { ExecuteSql } from '../store/executor.ts';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { type MigrationFile, MIGRATIONS_DIR, readMigrations } from './files.ts';

/** Arbitrary constant: the advisory lock every runner takes. */
export const MIGRATION_LOCK_KEY = 7_254_003_911n;

const BOOTSTRAP = `
  CREATE SCHEMA IF NOT EXISTS taskfleet;
  CREATE TABLE IF NOT EXISTS taskfleet.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  );`;

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  adopted: string[];
  alreadyApplied: number;
}

export interface MigrateOptions {
  databaseUrl: string;
  logger: Logger;
  dir?: string;
  /** Give up waiting for another runner's lock after this long. @defaultValue 120000 */
  lockTimeoutMs?: number;
  /** Runs after the SQL while the migration lock is still held (queue sync). */
  whileLocked?: () => Promise<void>;
}

async function pgbossInstalledVersion(client: pg.Client): Promise<number | null> {
  const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass('pgboss.version') IS NOT NULL AS exists`);
  if (!rows[0]?.exists) return null;
  const v = await client.query<{ version: string }>('SELECT version FROM pgboss.version');
  return v.rows[0] ? Number(v.rows[0].version) : null;
}

async function applyFile(client: pg.Client, file: MigrationFile): Promise<void> {
  const record = 'INSERT INTO taskfleet.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)';
  if (file.transactional) {
    await client.query('BEGIN');
    try {
      for (const chunk of file.chunks) await client.query(chunk);
      await client.query(record, [file.version, file.name, file.checksum]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return;
  }
  for (const chunk of file.chunks) await client.query(chunk);
  await client.query(record, [file.version, file.name, file.checksum]);
}

function checkApplied(files: MigrationFile[], applied: AppliedRow[]): void {
  const byVersion = new Map(files.map((f) => [f.version, f]));
  for (const row of applied) {
    const file = byVersion.get(row.version);
    if (!file) continue; // applied by a newer release: fine, migrations are additive
    if (file.checksum !== row.checksum) {
      throw new Error(
        `migration ${file.fileName} was changed after it was applied (checksum differs). Migrations are append-only: revert the edit and add a new file.`,
      );
    }
  }
}

/** Apply every pending migration. Idempotent; concurrent runners wait for each other. */
export async function migrate({
  databaseUrl,
  logger,
  dir = MIGRATIONS_DIR,
  lockTimeoutMs = 120_000,
  whileLocked,
}: MigrateOptions): Promise<MigrateResult> {
  const files = await readMigrations(dir);
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'taskfleet-migrate' });
  client.on('error', (err) => logger.error({ err }, 'migration connection failed'));
  await client.connect();
  try {
    await client.query(`SET lock_timeout = ${Number(lockTimeoutMs)}`);
    logger.debug('waiting for the migration lock');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await client.query('RESET lock_timeout');
    try {
      await client.query(BOOTSTRAP);
      const { rows: applied } = await client.query<AppliedRow>(
        'SELECT version, name, checksum FROM taskfleet.schema_migrations ORDER BY version',
      );
      checkApplied(files, applied);
      const done = new Set(applied.map((r) => r.version));
      const result: MigrateResult = { applied: [], adopted: [], alreadyApplied: done.size };
      for (const file of files) {
        if (done.has(file.version)) continue;
        if (file.pgbossVersion !== null) {
          const installed = await pgbossInstalledVersion(client);
          if (installed !== null && installed >= file.pgbossVersion) {
            await client.query('INSERT INTO taskfleet.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
              file.version,
              file.name,
              file.checksum,
            ]);
            logger.info({ migration: file.fileName, pgbossVersion: installed }, 'pg-boss schema already installed; recorded');
            result.adopted.push(file.fileName);
            continue;
          }
        }
        const started = performance.now();
        await applyFile(client, file);
        logger.info({ migration: file.fileName, ms: Math.round(performance.now() - started) }, 'applied migration');
        result.applied.push(file.fileName);
      }
      await whileLocked?.();
      return result;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

export interface SchemaStatus {
  /** Files this release carries that the database has not applied. */
  pending: string[];
  /** Versions the database has applied that this release does not know (a newer release ran). */
  unknown: number[];
}

/** Compare this release's migrations with the database. */
export async function schemaStatus(executeSql: ExecuteSql, dir: string = MIGRATIONS_DIR): Promise<SchemaStatus> {
  const files = await readMigrations(dir);
  const { rows: exists } = await executeSql(`SELECT to_regclass('taskfleet.schema_migrations') IS NOT NULL AS exists`);
  if (!exists[0]?.exists) return { pending: files.map((f) => f.fileName), unknown: [] };
  const { rows } = await executeSql('SELECT version, name, checksum FROM taskfleet.schema_migrations ORDER BY version');
  const applied = rows as AppliedRow[];
  checkApplied(files, applied);
  const done = new Set(applied.map((r) => Number(r.version)));
  const known = new Set(files.map((f) => f.version));
  return {
    pending: files.filter((f) => !done.has(f.version)).map((f) => f.fileName),
    unknown: applied.map((r) => Number(r.version)).filter((v) => !known.has(v)),
  };
}

/** Thrown by apps that find the database behind their release. */
export class SchemaBehindError extends Error {
  constructor(pending: string[]) {
    super(
      `the database schema is behind this release: pending migrations ${pending.join(', ')}. Run \`npm run migrate\` (or the migrate job) first.`,
    );
    this.name = 'SchemaBehindError';
  }
}

/** Refuse to start against a database that lacks this release's migrations. */
export async function assertSchemaCurrent(executeSql: ExecuteSql, logger: Logger, dir?: string): Promise<void> {
  const status = await schemaStatus(executeSql, dir);
  if (status.pending.length > 0) throw new SchemaBehindError(status.pending);
  if (status.unknown.length > 0) {
    logger.warn({ unknown: status.unknown }, 'the database has migrations newer than this release (rolling deploy?)');
  }
}
