/**
 * The one place that builds database clients, so every connection is named for its role
 * (`application_name`), sized from config, bounded by timeouts, and has an `error` listener:
 * an idle connection dropped by the server must be logged, never crash the process.
 */
import pg from 'pg';
import { PgBoss, type ConstructorOptions } from 'pg-boss';
import type { Config } from './config.ts';
import { requireDatabaseUrl } from './config.ts';
import type { Logger } from './logger.ts';
import { trackResource } from './resources.ts';
import { PGBOSS_SCHEMA } from './store/names.ts';

export type Role = 'api' | 'worker' | 'migrate' | 'cli' | 'test' | 'bench' | 'supervisor';

export interface PoolOptions {
  config: Config;
  role: Role;
  logger: Logger;
  /** Connections at most. */
  max: number;
  /** Appended to `application_name`, e.g. the worker replica id. */
  instance?: string;
  /** The database to connect to (a shard's primary or a replica); default the home shard (DATABASE_URL). */
  url?: string;
}

export function applicationName(role: Role, instance?: string): string {
  return `taskfleet-${role}${instance ? `-${instance}` : ''}`.slice(0, 63);
}

/** A plain pg pool (migrations, admin commands, tests). */
export function createPool({ config, role, logger, max, instance, url }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url ?? requireDatabaseUrl(config),
    max,
    application_name: applicationName(role, instance),
    connectionTimeoutMillis: config.database.connectTimeoutMs,
    statement_timeout: config.database.statementTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (err) => logger.error({ err, pool: applicationName(role, instance) }, 'idle database connection failed'));
  const release = trackResource('pool', applicationName(role, instance));
  const end = pool.end.bind(pool);
  let ended: Promise<void> | undefined;
  pool.end = (() => {
    ended ??= end().finally(release);
    return ended;
  }) as typeof pool.end;
  return pool;
}

export interface BossOptions extends PoolOptions {
  /** Run pg-boss maintenance (expiry of stuck jobs, retention, queue stats). Workers do; the API need not. */
  supervise: boolean;
  /** Hold a LISTEN connection so notify-enabled queues wake this process at once. */
  listen: boolean;
  /** Extra pg-boss options (tests tune intervals). */
  overrides?: Partial<ConstructorOptions>;
}

/**
 * A pg-boss instance that never migrates (the migration runner owns the schema) and whose errors
 * are always logged. pg-boss owns its pool; callers run their own single statements through
 * `boss.getDb().executeSql` so a process holds one pool, not two.
 */
export function createBoss({ config, role, logger, max, instance, url, supervise, listen, overrides }: BossOptions): PgBoss {
  const name = applicationName(role, instance);
  const boss = new PgBoss({
    connectionString: url ?? requireDatabaseUrl(config),
    schema: PGBOSS_SCHEMA,
    max,
    application_name: name,
    connectionTimeoutMillis: config.database.connectTimeoutMs,
    options: `-c statement_timeout=${config.database.statementTimeoutMs}`,
    migrate: false,
    createSchema: false,
    supervise,
    schedule: false,
    useListenNotify: listen,
    ...overrides,
  });
  boss.on('error', (err) => logger.error({ err, pool: name }, 'pg-boss error'));
  boss.on('warning', (warning) => logger.warn({ warning, pool: name }, 'pg-boss warning'));
  const release = trackResource('boss', name);
  boss.once('stopped', release);
  return boss;
}
