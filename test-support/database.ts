/**
 * One database per test file, cloned from the migrated template (fast: a file copy on the server).
 * `useTestDatabase()` registers beforeAll/afterAll and returns a handle whose `url` is set once the
 * database exists.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { type Config, createLogger, loadConfig, type Logger } from '@taskfleet/core';
import { databaseUrl } from './urls.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by global-setup.ts. */
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  /** Config for this database (quiet logs); `env` overrides other variables. */
  config(env?: Record<string, string>): Config;
  logger: Logger;
  /** Run SQL on the server's admin database (for statements about this database itself). */
  adminQuery(text: string): Promise<void>;
  /** Run SQL as a superuser-ish admin on this database. */
  query<T extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
}

/** Run one statement on the server's admin database (statements about a test's database itself). */
export async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function createDatabase(
  options: { fromTemplate?: boolean } = {},
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const admin = inject('adminDatabaseUrl');
  const template = inject('templateDatabase');
  const name = `${template.replace('_tpl_', '_t_')}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(options.fromTemplate === false ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await client.end();
  }
  return {
    name,
    url: databaseUrl(admin, name),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        // Pools closed by the test may still be hanging up: give their sessions up to 5 s to leave,
        // so FORCE never kills a connection a closing pool no longer listens to (an uncaught error).
        for (let i = 0; i < 100; i++) {
          const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
          if ((rows[0]?.n ?? 0) === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export function useTestDatabase(options: { fromTemplate?: boolean } = {}): TestDatabase {
  let drop: (() => Promise<void>) | undefined;
  let pool: pg.Pool | undefined;
  const handle: TestDatabase = {
    url: '',
    name: '',
    config: (env = {}) => loadConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'test', ...env, DATABASE_URL: handle.url }),
    logger: createLogger({ role: 'test', config: loadConfig({ LOG_LEVEL: 'silent' }), destination: process.stderr }),
    adminQuery,
    query: (text, values) => {
      pool ??= new pg.Pool({ connectionString: handle.url, max: 2 });
      return pool.query(text, values as unknown[]);
    },
  };
  beforeAll(async () => {
    const db = await createDatabase(options);
    handle.url = db.url;
    handle.name = db.name;
    drop = db.drop;
  });
  afterAll(async () => {
    await pool?.end();
    await drop?.();
  });
  return handle;
}
