import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PgBoss } from 'pg-boss';
import {
  applyMigrations,
  createBoss,
  expectedQueueNames,
  loadConfig,
  migrate,
  MIGRATIONS_DIR,
  readMigrations,
  SchemaBehindError,
  schemaStatus,
  startBoss,
} from '@taskfleet/core';
import { createDatabase } from '../../../test-support/database.ts';
import { createLogger } from '@taskfleet/core';
import { useTempDirs } from '../../../test-support/temp.ts';

const tempDir = useTempDirs();

const logger = createLogger({ role: 'test', config: loadConfig({ LOG_LEVEL: 'silent' }) });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function emptyDatabase() {
  const db = await createDatabase({ fromTemplate: false });
  cleanups.push(db.drop);
  return { ...db, config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }) };
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

async function schemaFingerprint(url: string): Promise<string> {
  const rows = await sql<{ t: string }>(
    url,
    // Ordered by name: inside an aggregate, `ORDER BY 1` sorts by the constant 1, i.e. not at all, and
    // the catalog's order differs between databases whose migrations ran concurrently.
    `SELECT string_agg(table_schema || '.' || table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_schema, table_name, column_name) AS t
       FROM information_schema.columns WHERE table_schema IN ('pgboss', 'taskfleet')`,
  );
  return rows[0]?.t ?? '';
}

describe('migration runner', () => {
  it('applies every migration and creates the queues on an empty database', async () => {
    const db = await emptyDatabase();
    const result = await applyMigrations(db.config, logger);
    const files = await readMigrations();
    expect(result.applied).toEqual(files.map((f) => f.fileName));
    const versions = await sql<{ version: string }>(db.url, 'SELECT version FROM pgboss.version');
    expect(Number(versions[0]?.version)).toBe(43);
    const queues = await sql<{ name: string }>(db.url, 'SELECT name FROM pgboss.queue ORDER BY name');
    expect(queues.map((q) => q.name)).toEqual([...expectedQueueNames()].sort());
  });

  it('is idempotent: a second run applies nothing and changes nothing', async () => {
    const db = await emptyDatabase();
    await applyMigrations(db.config, logger);
    const before = await schemaFingerprint(db.url);
    const again = await applyMigrations(db.config, logger);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toBe((await readMigrations()).length);
    expect(await schemaFingerprint(db.url)).toBe(before);
  });

  it('lets several runners start together and leaves one correct schema', async () => {
    const db = await emptyDatabase();
    const results = await Promise.all([1, 2, 3].map(() => applyMigrations(db.config, logger)));
    const appliedTotal = results.flatMap((r) => r.applied);
    expect(appliedTotal.sort()).toEqual((await readMigrations()).map((f) => f.fileName).sort());
    const rows = await sql<{ n: string }>(db.url, 'SELECT count(*) AS n FROM taskfleet.schema_migrations');
    expect(Number(rows[0]?.n)).toBe((await readMigrations()).length);
    const reference = await emptyDatabase();
    await applyMigrations(reference.config, logger);
    expect(await schemaFingerprint(db.url)).toBe(await schemaFingerprint(reference.url));
  });

  it('refuses to run when an applied migration file was edited', async () => {
    const db = await emptyDatabase();
    const dir = await tempDir('tf-mig-');
    await writeFile(path.join(dir, '000001_t.sql'), 'CREATE TABLE taskfleet.t (a int);');
    await migrate({ databaseUrl: db.url, logger, dir });
    await writeFile(path.join(dir, '000001_t.sql'), 'CREATE TABLE taskfleet.t (a bigint);');
    await expect(migrate({ databaseUrl: db.url, logger, dir })).rejects.toThrow(/000001_t.sql was changed after it was applied/);
  });

  it('rolls back a failing transactional migration and records nothing', async () => {
    const db = await emptyDatabase();
    const dir = await tempDir('tf-mig-');
    await writeFile(path.join(dir, '000001_bad.sql'), 'CREATE TABLE taskfleet.half (a int);\nSELECT 1/0;');
    await expect(migrate({ databaseUrl: db.url, logger, dir })).rejects.toThrow(/division by zero/);
    const rows = await sql<{ t: string | null }>(db.url, `SELECT to_regclass('taskfleet.half')::text AS t`);
    expect(rows[0]?.t).toBeNull();
    const recorded = await sql(db.url, 'SELECT * FROM taskfleet.schema_migrations');
    expect(recorded).toHaveLength(0);
  });

  it('runs statement-break chunks separately, so CREATE INDEX CONCURRENTLY works', async () => {
    const db = await emptyDatabase();
    const dir = await tempDir('tf-mig-');
    await writeFile(
      path.join(dir, '000001_idx.sql'),
      '-- taskfleet:no-transaction\nCREATE TABLE taskfleet.t (a int);\n-- taskfleet:statement-break\nCREATE INDEX CONCURRENTLY t_a ON taskfleet.t (a);\n',
    );
    const result = await migrate({ databaseUrl: db.url, logger, dir });
    expect(result.applied).toEqual(['000001_idx.sql']);
    const idx = await sql<{ i: string | null }>(db.url, `SELECT to_regclass('taskfleet.t_a')::text AS i`);
    expect(idx[0]?.i).toBe('taskfleet.t_a');
  });

  it('adopts a pg-boss schema that pg-boss installed itself instead of failing on it', async () => {
    const db = await emptyDatabase();
    const boss = new PgBoss({ connectionString: db.url, schema: 'pgboss', supervise: false, schedule: false });
    boss.on('error', () => {});
    await boss.start();
    await boss.stop({ graceful: false, close: true });
    const result = await applyMigrations(db.config, logger);
    expect(result.adopted).toEqual(['000001_pgboss_v43.sql']);
    expect(result.applied).toEqual((await readMigrations()).slice(1).map((f) => f.fileName));
  });
});

describe('apps refuse a database that is behind', () => {
  it('names the missing pg-boss schema on an empty database', async () => {
    const db = await emptyDatabase();
    const boss = createBoss({ config: db.config, role: 'test', logger, max: 2, supervise: false, listen: false });
    const error = await startBoss(boss, logger).catch((e: unknown) => e);
    await boss.stop({ graceful: false, close: true }).catch(() => {});
    expect(error).toBeInstanceOf(SchemaBehindError);
    expect((error as Error).message).toMatch(/schema is behind.*pg-boss is not installed.*npm run migrate/);
  });

  it('names pending taskfleet migrations', async () => {
    const db = await emptyDatabase();
    const dir = await tempDir('tf-mig-');
    const first = (await readMigrations())[0];
    await writeFile(path.join(dir, first?.fileName ?? ''), await readFile(path.join(MIGRATIONS_DIR, first?.fileName ?? ''), 'utf8'));
    await migrate({ databaseUrl: db.url, logger, dir }); // only pg-boss, not the taskfleet migrations
    const status = await (async () => {
      const client = new pg.Client(db.url);
      await client.connect();
      try {
        return await schemaStatus((text, values) => client.query(text, values));
      } finally {
        await client.end();
      }
    })();
    expect(status.pending).toEqual((await readMigrations()).slice(1).map((f) => f.fileName));
    const boss = createBoss({ config: db.config, role: 'test', logger, max: 2, supervise: false, listen: false });
    const error = await startBoss(boss, logger).catch((e: unknown) => e);
    await boss.stop({ graceful: false, close: true });
    expect((error as Error).message).toMatch(/pending migrations 000002_taskfleet_api_keys.sql/);
  });

  it('starts once the database is migrated', async () => {
    const db = await emptyDatabase();
    await applyMigrations(db.config, logger);
    const boss = createBoss({ config: db.config, role: 'test', logger, max: 2, supervise: false, listen: false });
    await startBoss(boss, logger);
    await boss.stop({ graceful: false, close: true });
  });
});
