/**
 * Integration tests talk to a real PostgreSQL: DATABASE_URL when set, otherwise an embedded
 * PostgreSQL 18 started here in a temp dir on a free port. Migrations are applied once into a
 * template database; each test file then clones its own database from it (see database.ts).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { applyMigrations, createLogger, loadConfig } from '@taskfleet/core';
import { type EmbeddedPostgres, freePort, startEmbeddedPostgres } from '../scripts/lib/embedded-postgres.ts';
import './database.ts'; // declares the provided context
import { databaseUrl } from './urls.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedPostgres | undefined;
  let dataDir: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'taskfleet-test-pg-'));
    await chmod(dataDir, 0o755); // the server runs as the postgres user when we are root
    // Durability settings off: these databases are thrown away after the run.
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'data'),
      port: await freePort(),
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 300 },
    });
    adminUrl = embedded.url;
  }
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `integration tests cannot reach PostgreSQL at DATABASE_URL (${(err as Error).message}). ` +
        'Start that server, or unset DATABASE_URL to let the tests start an embedded PostgreSQL.',
    );
  }
  const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
  console.log(
    `[taskfleet tests] node ${process.version}; PostgreSQL ${rows[0]?.server_version} (${embedded ? 'embedded, started for this run' : 'DATABASE_URL'})`,
  );
  const template = `taskfleet_tpl_${process.pid}_${Date.now().toString(36)}`;
  await admin.query(`CREATE DATABASE ${template}`);
  // The template carries the reliability suite's `test.ledger` queues too (its processes load that
  // task module through TASK_MODULES); other tests never see the type.
  const config = loadConfig({
    DATABASE_URL: databaseUrl(adminUrl, template),
    LOG_LEVEL: 'warn',
    TASK_MODULES: path.resolve(import.meta.dirname, 'tasks/ledger.ts'),
  });
  await applyMigrations(config, createLogger({ role: 'test', config, destination: process.stderr }));
  await admin.end();
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);

  return async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    // Databases of test files that crashed before their own cleanup.
    const { rows: leftovers } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
      `${template.replace('_tpl_', '_t_')}%`,
    ]);
    for (const { datname } of leftovers) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await client.end();
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
}
