/**
 * Code stays readable in pieces: no source file over 300 lines, no function over 80 lines
 * (measured with the TypeScript parser; table-like data is exempt because it is not a function).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const SOURCES = ['apps/api/src', 'apps/worker/src', 'apps/cli/src', 'packages/core/src', 'packages/client/src', 'scripts', 'bench'];
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 80;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (name === 'node_modules' || name === 'results') return [];
    if (statSync(full).isDirectory()) return files(full);
    return full.endsWith('.ts') && !full.endsWith('.test.ts') ? [full] : [];
  });
}

function longFunctions(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (end - start + 1 > MAX_FUNCTION_LINES) {
        const name = (node as ts.FunctionLikeDeclarationBase).name?.getText(source) ?? '(anonymous)';
        found.push(`${path.relative(ROOT, file)}:${start + 1} ${name}: ${end - start + 1} lines`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const sources = SOURCES.flatMap((d) => files(path.join(ROOT, d)));

describe('code size', () => {
  it(`has no source file over ${MAX_FILE_LINES} lines`, () => {
    const long = sources
      .map((f) => ({ f: path.relative(ROOT, f), n: readFileSync(f, 'utf8').split('\n').length }))
      .filter(({ n }) => n > MAX_FILE_LINES)
      .map(({ f, n }) => `${f}: ${n} lines`);
    expect(long).toEqual([]);
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(sources.flatMap((f) => longFunctions(f, readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('measures what it claims (a long function is found)', () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const v${i} = ${i};`).join('\n');
    expect(longFunctions('x.ts', `function long() {\n${body}\n}\n`)).toHaveLength(1);
    expect(longFunctions('x.ts', 'const short = () => 1;\n')).toHaveLength(0);
  });
});
