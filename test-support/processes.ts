/**
 * Real app processes for end-to-end and fault tests: `spawnScript` runs one of the repo's entry
 * points with Node 24 (this process's node), collects its output and lets a test wait for a line,
 * signal it, and see how it exited.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../scripts/lib/embedded-postgres.ts';
import { nodeEnvFor, nodeFlagsFor } from '../scripts/lib/node-flags.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');

export const SCRIPTS = {
  start: 'scripts/start.ts',
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
} as const;

export interface ScriptProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  output(): string;
  /** Resolve once the output matches; reject with the output's tail on timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Exit code (or null when killed by a signal). */
  readonly exited: Promise<number | null>;
  readonly signal: () => NodeJS.Signals | null;
}

/** `launch` runs the script with another program (e.g. `sh` for a shell entrypoint) from another directory. */
export function spawnScript(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  launch?: { command: string; cwd: string; args: string[] },
): ScriptProcess {
  const proc = spawn(launch?.command ?? process.execPath, launch ? [script, ...launch.args] : [...nodeFlagsFor(script), script, ...args], {
    cwd: launch?.cwd ?? ROOT,
    env: launch ? env : { ...process.env, ...nodeEnvFor(script), LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let signal: NodeJS.Signals | null = null;
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000); // long runs: keep the tail
    for (const w of waiters) w();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code, sig) => {
      signal = sig;
      resolve(code);
    }),
  );
  return {
    proc,
    pid: proc.pid ?? 0,
    output: () => out,
    exited,
    signal: () => signal,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}

/** An API or worker process with its own HTTP port. */
export interface AppProcess extends ScriptProcess {
  readonly role: 'api' | 'worker';
  readonly url: string;
}

export async function spawnApp(role: 'api' | 'worker', env: Record<string, string>, fixedPort?: number): Promise<AppProcess> {
  const port = fixedPort ?? (await freePort());
  const portEnv: Record<string, string> =
    role === 'api' ? { API_HOST: '127.0.0.1', API_PORT: String(port) } : { WORKER_HOST: '127.0.0.1', WORKER_PORT: String(port) };
  const child = spawnScript(SCRIPTS[role], { ...env, ...portEnv });
  return { ...child, role, url: `http://127.0.0.1:${port}` };
}

/** Wait until `url`/readyz answers 200 (or the process exits). */
export async function waitReady(app: AppProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void app.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${app.role} ${app.pid} exited before it was ready:\n${app.output().slice(-3000)}`);
    try {
      const res = await fetch(`${app.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${app.role} ${app.pid} not ready after ${timeoutMs} ms:\n${app.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM (or `signal`) and wait for the exit; SIGKILL after `timeoutMs`. */
export async function stopProcess(p: ScriptProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return p.proc.exitCode;
  p.proc.kill(signal);
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), timeoutMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}
