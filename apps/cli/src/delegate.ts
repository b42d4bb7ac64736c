/** Run a repo script or app with this Node, passing signals through; resolves to its exit code. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo checkout this CLI runs from (apps/cli/src or apps/cli/dist), or undefined for an installed package. */
function repoRoot(): string | undefined {
  // Not import.meta.dirname: the installed CLI supports Node 20.0, which lacks it (20.11+).
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  try {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name?: unknown };
    return manifest.name === 'taskfleet' ? root : undefined;
  } catch {
    return undefined;
  }
}

export function delegate(script: string, args: string[], env: Record<string, string | undefined>, flags: string[] = []): Promise<number> {
  const root = repoRoot();
  const target = root && path.join(root, script);
  if (!target || !existsSync(target)) {
    const command = script.startsWith('apps/') ? 'start' : path.basename(script, '.ts');
    process.stderr.write(
      `taskfleet ${command}: only available from a checkout of the taskfleet repository (it runs ${script}); ` +
        'this installed CLI has the API commands only (see `taskfleet --help`). Run it from the repo, or use the Docker image.\n',
    );
    return Promise.resolve(1);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flags, target, ...args], { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 128 + 15 : 1));
    });
  });
}
