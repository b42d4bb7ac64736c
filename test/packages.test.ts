/**
 * The published shape of `@taskfleet/client` and the `taskfleet` CLI: `npm run build:packages`,
 * `npm pack` of both, the two tarballs installed (offline) into a project outside the repo, then run
 * there on the machine's Node 20 (/usr/bin/node) and on Node 24 (this process's node) against a real
 * API and worker: the SDK enqueues a task and waits for it, the installed bin answers `--help` and
 * `queues`, a repo-only command says so. A TypeScript consumer type-checks against the installed d.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../test-support/database.ts';
import { type AppProcess, ROOT, spawnApp, stopProcess, waitReady } from '../test-support/processes.ts';
import { useTempDirs } from '../test-support/temp.ts';

const exec = promisify(execFile);
const NODE20 = '/usr/bin/node';
const db = useTestDatabase();
const tempDir = useTempDirs();
const apps: AppProcess[] = [];
let project = '';
let apiUrl = '';

const ENQUEUE_AND_WAIT = `import { createClient } from '@taskfleet/client';
const client = createClient({ baseUrl: process.env.TASKFLEET_URL });
const receipt = await client.enqueue('noop', { echo: { node: process.version } });
const task = await client.waitFor('noop', receipt.id, { timeoutSeconds: 30 });
console.log(JSON.stringify({ node: process.version, state: task.state, output: task.output }));
`;

const CONSUMER_TS = `import { createClient, type Task, TaskfleetError } from '@taskfleet/client';
const client = createClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: 'tf_x' });
export async function run(): Promise<Task> {
  const receipt = await client.enqueue('http.request', { url: 'https://example.com/hook', method: 'PUT' }, { priority: 'high' });
  // @ts-expect-error: payloads are typed by task name
  await client.enqueue('noop', { sleepMs: 'long' });
  const task = await client.waitFor(receipt.queue, receipt.id, { timeoutSeconds: 5 });
  if (task.state === 'completed') return task;
  throw new TaskfleetError(\`ended \${task.state}\`, 0, task.lastError as never);
}
`;

/** Build, pack and install both packages into a fresh project in the temp dir. */
async function installPackages(): Promise<string> {
  await exec('npm', ['run', 'build:packages'], { cwd: ROOT });
  const packs = await tempDir('taskfleet-packs-');
  const { stdout } = await exec('npm', ['pack', '-w', 'packages/client', '-w', 'apps/cli', '--pack-destination', packs, '--json'], {
    cwd: ROOT,
  });
  const tarballs = (JSON.parse(stdout) as { filename: string }[]).map((p) => path.join(packs, p.filename));
  expect(tarballs).toHaveLength(2);
  const dir = await tempDir('taskfleet-consumer-');
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await exec('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], { cwd: dir });
  await writeFile(path.join(dir, 'enqueue.mjs'), ENQUEUE_AND_WAIT);
  await writeFile(path.join(dir, 'consumer.ts'), CONSUMER_TS);
  const compilerOptions = { module: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], strict: true, noEmit: true, types: [] };
  await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
  return dir;
}

async function startFleet(): Promise<string> {
  const env = { DATABASE_URL: db.url, API_AUTH: 'disabled', LOG_LEVEL: 'warn' };
  const [api, worker] = await Promise.all([spawnApp('api', env), spawnApp('worker', env)]);
  apps.push(api, worker);
  await Promise.all([waitReady(api), waitReady(worker)]);
  return api.url;
}

beforeAll(async () => {
  [project, apiUrl] = await Promise.all([installPackages(), startFleet()]);
}, 80_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => stopProcess(a)));
});

describe('the packed packages, installed outside the repo', () => {
  it('ship built JavaScript and declarations only, the client without dependencies', async () => {
    const client = path.join(project, 'node_modules/@taskfleet/client');
    const manifest = JSON.parse(await readFile(path.join(client, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
    const files = await readdir(path.join(client, 'dist'));
    expect(files).toContain('index.js');
    expect(files).toContain('index.d.ts');
    expect(files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
    for (const f of files.filter((f) => f.endsWith('.d.ts')))
      expect(await readFile(path.join(client, 'dist', f), 'utf8')).not.toMatch(/['"]@taskfleet\/core['"]/);
    const cli = path.join(project, 'node_modules/@taskfleet/cli/dist/cli.js');
    expect(await readFile(cli, 'utf8')).toContain("from '@taskfleet/client'");
  });

  it('type-check a TypeScript consumer against the installed declarations', async () => {
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await exec(process.execPath, [tsc, '-p', project]).catch((e: { stdout: string; code: number }) => e);
    expect(result.stdout).toBe('');
  });
});

const NODES: [string, string][] = [
  ['Node 20', NODE20],
  ['Node 24', process.execPath],
];

describe.each(NODES)('on %s', (label, node) => {
  const missing = !existsSync(node);
  if (missing) console.warn(`[packages.test] ${label}: ${node} does not exist; its half of the pack-and-install test is skipped`);
  /** The installed bin through its shebang, with this node first on PATH. */
  const taskfleet = (args: string[]) =>
    exec(path.join(project, 'node_modules/.bin/taskfleet'), args, {
      cwd: project,
      env: { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}`, TASKFLEET_URL: apiUrl },
    }).catch((e: { stdout: string; stderr: string; code: number }) => e);

  it.skipIf(missing)('the SDK enqueues a task and waits for it to complete', async () => {
    const { stdout } = await exec(node, ['enqueue.mjs'], { cwd: project, env: { ...process.env, TASKFLEET_URL: apiUrl } });
    const version = (await exec(node, ['--version'])).stdout.trim();
    expect(version).toMatch(label === 'Node 20' ? /^v20\./ : /^v24\./);
    expect(JSON.parse(stdout)).toEqual({ node: version, state: 'completed', output: { echo: { node: version } } });
  });

  it.skipIf(missing)('the taskfleet bin answers --help and queues; repo-only commands say so', async () => {
    const env = { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}` };
    expect((await exec('node', ['--version'], { env })).stdout.trim()).toBe((await exec(node, ['--version'])).stdout.trim());
    const help = await taskfleet(['--help']);
    expect(help).not.toHaveProperty('code');
    expect(help.stdout).toMatch(/usage: taskfleet/);
    const queues = await taskfleet(['queues']);
    expect(queues).not.toHaveProperty('code');
    expect(queues.stdout).toContain('noop');
    expect(queues.stdout).toContain('http.request');
    const migrate = await taskfleet(['migrate']);
    expect(migrate).toMatchObject({ code: 1 });
    expect(migrate.stderr).toContain('only available from a checkout of the taskfleet repository');
  });
});
