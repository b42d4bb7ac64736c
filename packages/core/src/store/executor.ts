/**
 * How the store runs statements: a function, not a pool, so the same store code runs through
 * pg-boss's pool (`boss.getDb().executeSql`), a pg client, or a transaction's client.
 */
import type { PgBoss } from 'pg-boss';

/** One statement with positional values: pg-boss's `boss.getDb().executeSql`, or a pg client's `query`. */
export type ExecuteSql = (text: string, values?: unknown[]) => Promise<{ rows: any[] }>;

/**
 * The same, also accepting a `{ name, text, values }` query config, which pg runs as a named
 * prepared statement (planned once per connection). pg-boss passes it through to pg untouched.
 */
export type ExecutePrepared = (
  query: string | { name: string; text: string; values: unknown[] },
  values?: unknown[],
) => Promise<{ rows: any[] }>;

/** The statement runner of a started pg-boss instance (its pool), prepared statements included. */
export function executorOf(boss: PgBoss): ExecutePrepared {
  const db = boss.getDb();
  // pg-boss types the first argument as a string but hands it to pg untouched.
  return (query, values) => db.executeSql(query as string, values);
}

/** `SELECT 1`: the readiness probe's round trip. */
export async function ping(executeSql: ExecuteSql): Promise<void> {
  await executeSql('SELECT 1');
}
