import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { constructionMigration } from '../../../../scripts/gen-pgboss-migration.ts';
import { MIGRATIONS_DIR, readMigrations } from './files.ts';
import { useTempDirs } from '../../../../test-support/temp.ts';

const tempDir = useTempDirs();

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('tf-mig-');
  for (const [name, sql] of Object.entries(files)) await writeFile(path.join(dir, name), sql);
  return dir;
}

describe('migration files', () => {
  it('reads the shipped migrations in order with their directives', async () => {
    const files = await readMigrations(MIGRATIONS_DIR);
    expect(files.map((f) => f.version)).toEqual(files.map((_, i) => i + 1));
    const pgboss = files[0];
    expect(pgboss?.transactional).toBe(false);
    expect(pgboss?.pgbossVersion).toBe(43);
    expect(files[1]?.transactional).toBe(true);
  });

  it('keeps the pg-boss migration identical to the pinned pg-boss construction SQL', async () => {
    const shipped = await readFile(path.join(MIGRATIONS_DIR, '000001_pgboss_v43.sql'), 'utf8');
    expect(shipped).toBe(constructionMigration());
  });

  it('refuses gaps, duplicates and bad names', async () => {
    await expect(readMigrations(await dirWith({ '000001_a.sql': '', '000003_b.sql': '' }))).rejects.toThrow(/without gaps/);
    await expect(readMigrations(await dirWith({ '000001_a.sql': '', '000001_b.sql': '' }))).rejects.toThrow(/without gaps/);
    await expect(readMigrations(await dirWith({ '1_a.sql': '' }))).rejects.toThrow(/does not match/);
  });

  it('splits statement breaks into separate chunks', async () => {
    const dir = await dirWith({
      '000001_idx.sql':
        '-- taskfleet:no-transaction\nCREATE TABLE t (a int);\n-- taskfleet:statement-break\nCREATE INDEX CONCURRENTLY i ON t (a);\n',
    });
    const [file] = await readMigrations(dir);
    expect(file?.transactional).toBe(false);
    expect(file?.chunks).toHaveLength(2);
    expect(file?.chunks[1]).toContain('CONCURRENTLY');
  });
});
