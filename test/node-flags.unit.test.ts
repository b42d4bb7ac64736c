/** Every way of starting an app passes the same V8 flags and compile cache (scripts/lib/node-flags.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_NODE_FLAGS, COMPILE_CACHE_DIR, nodeEnvFor, nodeFlagsFor, WORKER_NODE_FLAGS } from '../scripts/lib/node-flags.ts';

const read = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8');

describe('app node flags', () => {
  it('are used by the package scripts, the CLI and the Docker entrypoint', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const cli = read('apps/cli/src/commands/start.ts');
    for (const [role, flags] of [
      ['api', API_NODE_FLAGS],
      ['worker', WORKER_NODE_FLAGS],
    ] as const) {
      expect(nodeFlagsFor(`apps/${role}/src/main.ts`)).toEqual(flags);
      expect(pkg.scripts[role]).toBe(
        `NODE_COMPILE_CACHE=\${NODE_COMPILE_CACHE-${COMPILE_CACHE_DIR}} node ${flags.join(' ')} apps/${role}/src/main.ts`,
      );
      expect(read('docker/entrypoint.sh')).toContain(`exec node ${flags.join(' ')} apps/${role}/src/main.ts`);
      for (const flag of flags) expect(cli).toContain(`'${flag}'`);
    }
    expect(nodeFlagsFor('bench/servers/ceiling.ts')).toEqual([]);
    expect(read('docker/entrypoint.sh')).toContain(`export NODE_COMPILE_CACHE="\${NODE_COMPILE_CACHE-${COMPILE_CACHE_DIR}}"`);
    expect(cli).toContain('NODE_COMPILE_CACHE: COMPILE_CACHE_DIR');
  });

  it('turn on the compile cache for the apps only, unless the environment chose', () => {
    expect(nodeEnvFor('apps/api/src/main.ts', {})).toEqual({ NODE_COMPILE_CACHE: COMPILE_CACHE_DIR });
    expect(nodeEnvFor('apps/worker/src/main.ts', {})).toEqual({ NODE_COMPILE_CACHE: COMPILE_CACHE_DIR });
    expect(nodeEnvFor('apps/api/src/main.ts', { NODE_COMPILE_CACHE: '' })).toEqual({});
    expect(nodeEnvFor('bench/servers/ceiling.ts', {})).toEqual({});
  });
});
