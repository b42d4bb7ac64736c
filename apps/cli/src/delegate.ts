/** Run a repo script or app with this Node, passing signals through; resolves to its exit code. */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');

export function delegate(script: string, args: string[], env: Record<string, string | undefined>, flags: string[] = []): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flags, path.join(ROOT, script), ...args], { stdio: 'inherit', env });
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
