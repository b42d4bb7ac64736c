/**
 * Migration files: `migrations/NNNNNN_name.sql`, numbered, append-only. A file runs inside one
 * transaction together with the row that records it, unless its first lines carry directives:
 *
 * - `-- taskfleet:no-transaction` — the file manages its own transactions (pg-boss's construction
 *   SQL has its own BEGIN/COMMIT) and is recorded after it succeeds. Chunks separated by
 *   `-- taskfleet:statement-break` run as separate queries, which is how a statement that cannot
 *   run in a transaction block (`CREATE INDEX CONCURRENTLY`) gets its own round trip.
 * - `-- taskfleet:pgboss-version N` — the file installs pg-boss schema version N; when the database
 *   already has pg-boss at N or later (installed by pg-boss itself), it is recorded, not re-run.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../migrations/', import.meta.url));

const FILE_NAME = /^(\d{6})_([a-z0-9_]+)\.sql$/;

export interface MigrationFile {
  version: number;
  name: string;
  fileName: string;
  sql: string;
  checksum: string;
  transactional: boolean;
  pgbossVersion: number | null;
  /** Statements to send one by one (one element when the file has no statement breaks). */
  chunks: string[];
}

export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const fileName of names) {
    const match = FILE_NAME.exec(fileName);
    if (!match) throw new Error(`migration file ${fileName} does not match NNNNNN_lower_snake_name.sql`);
    const sql = await readFile(`${dir}/${fileName}`, 'utf8');
    const header = sql.split('\n').filter((l) => l.startsWith('--'));
    const pgboss = header.map((l) => /^-- taskfleet:pgboss-version (\d+)\s*$/.exec(l)).find(Boolean);
    files.push({
      version: Number(match[1]),
      name: match[2] as string,
      fileName,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
      transactional: !header.some((l) => l.trim() === '-- taskfleet:no-transaction'),
      pgbossVersion: pgboss ? Number(pgboss[1]) : null,
      chunks: sql.split(/^-- taskfleet:statement-break\s*$/m).filter((c) => c.trim() !== ''),
    });
  }
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as MigrationFile;
    if (f.version !== i + 1) {
      throw new Error(`migrations must be numbered 1, 2, 3… without gaps or duplicates: found ${f.fileName} at position ${i + 1}`);
    }
  }
  return files;
}
