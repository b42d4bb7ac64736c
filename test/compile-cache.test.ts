/**
 * Node's compile cache for the app processes (scripts/lib/node-flags.ts): a process whose modules are
 * all cached never loads Node's TypeScript stripper. Checked on Node itself (a .ts module run twice
 * against one cache directory), and on the real API: it writes the cache once started (not only at
 * exit), and the next API process on that cache holds less external memory (the stripper's buffers).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../test-support/database.ts';
import { spawnApp, stopProcess, waitReady } from '../test-support/processes.ts';
import { waitFor } from '../test-support/worker.ts';

const db = useTestDatabase();
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
const tempDir = async (prefix: string) => {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

async function filesUnder(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

async function externalBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^taskfleet_nodejs_external_memory_bytes\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

describe('the compile cache', () => {
  it('spares a cached TypeScript module the stripper (Node itself)', async () => {
    const dir = await tempDir('tf-cc-node-');
    const cache = path.join(dir, 'cache');
    await writeFile(path.join(dir, 'dep.ts'), 'export const n: number = 1;\n');
    await writeFile(
      path.join(dir, 'main.ts'),
      "import { n } from './dep.ts';\nconst stripper: boolean = process.moduleLoadList.some((m) => m.includes('amaro'));\nconsole.log(JSON.stringify({ n, stripper }));\n",
    );
    const run = () =>
      JSON.parse(
        execFileSync(process.execPath, [path.join(dir, 'main.ts')], {
          env: { ...process.env, NODE_COMPILE_CACHE: cache },
          encoding: 'utf8',
        }),
      );
    expect(run()).toEqual({ n: 1, stripper: true });
    expect(run()).toEqual({ n: 1, stripper: false });
  });

  it('is written by an API process once started, and the next one starts without the stripper', { timeout: 90_000 }, async () => {
    const cache = path.join(await tempDir('tf-cc-api-'), 'cache');
    const env = { DATABASE_URL: db.url, API_AUTH: 'disabled', LOG_LEVEL: 'warn', NODE_COMPILE_CACHE: cache };
    const cold = await spawnApp('api', env);
    let coldExternal: number;
    try {
      await waitReady(cold);
      // Flushed at start-up (run-main.ts), while the process still runs.
      await waitFor(async () => (await filesUnder(cache)) > 10, 'the compile cache to be written');
      coldExternal = await externalBytes(cold.url);
    } finally {
      await stopProcess(cold);
    }
    const warm = await spawnApp('api', env);
    try {
      await waitReady(warm);
      const warmExternal = await externalBytes(warm.url);
      // The stripper's WebAssembly and buffers: ~6.5 MB of external memory here.
      expect(coldExternal - warmExternal).toBeGreaterThan(3_000_000);
    } finally {
      await stopProcess(warm);
    }
  });
});
