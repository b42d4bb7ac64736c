/**
 * The job store owns every statement on pg-boss's and taskfleet's tables: production code outside
 * packages/core/src/store (and the migration runner's own bookkeeping) names no table of those
 * schemas and sends no SQL text of its own. (Tests and the bench read tables to assert and measure.)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const SOURCES = ['apps/api/src', 'apps/worker/src', 'apps/cli/src', 'packages/core/src', 'packages/client/src'];
const OWNERS = ['packages/core/src/store/', 'packages/core/src/migrations/'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return files(full);
    return full.endsWith('.ts') && !full.endsWith('.test.ts') ? [full] : [];
  });
}

/** Source without comments (a comment may name a table). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

// Not taskfleet.dev (the problem-type URLs) nor taskfleet.callback (the callback deliveries' task type and queue).
const TABLE = /\b(?:pgboss|taskfleet)\.(?!dev\b|callback\b)[a-z_]+/;
const SCHEMA_INTERPOLATION = /\$\{(?:S|PGBOSS_SCHEMA)\}\./;
const SQL_LITERAL_CALL = /\b(?:executeSql|query)\(\s*[`'"]\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|TRUNCATE)\b/i;

function violations(): string[] {
  const found: string[] = [];
  for (const dir of SOURCES) {
    for (const file of files(path.join(ROOT, dir))) {
      const rel = path.relative(ROOT, file);
      if (OWNERS.some((o) => rel.startsWith(o))) continue;
      code(readFileSync(file, 'utf8'))
        .split('\n')
        .forEach((line, i) => {
          if (TABLE.test(line) || SCHEMA_INTERPOLATION.test(line) || SQL_LITERAL_CALL.test(line))
            found.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
  }
  return found;
}

describe('the job store boundary', () => {
  it('finds SQL on pg-boss or taskfleet tables only in the store and the migrations', () => {
    expect(violations()).toEqual([]);
  });

  it('would notice a statement written in an app', () => {
    const sample = 'await executeSql(`DELETE FROM pgboss.job WHERE id = $1`, [id]);';
    expect(TABLE.test(code(sample))).toBe(true);
    expect(SQL_LITERAL_CALL.test(code(sample))).toBe(true);
    expect(SQL_LITERAL_CALL.test(code("await executeSql('SELECT 1')"))).toBe(true);
    expect(TABLE.test(code('/** shown in `taskfleet.workers` */'))).toBe(false);
  });
});
