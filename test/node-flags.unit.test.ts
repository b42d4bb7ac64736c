/** Every way of starting an app passes the same V8 flags (scripts/lib/node-flags.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APP_NODE_FLAGS } from '../scripts/lib/node-flags.ts';

const read = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8');

describe('app node flags', () => {
  it('are used by the package scripts and the Docker entrypoint', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    for (const flag of APP_NODE_FLAGS) {
      expect(pkg.scripts.api).toContain(flag);
      expect(pkg.scripts.worker).toContain(flag);
      expect(read('docker/entrypoint.sh')).toContain(`exec node ${flag} apps/api/src/main.ts`);
      expect(read('docker/entrypoint.sh')).toContain(`exec node ${flag} apps/worker/src/main.ts`);
    }
  });
});
