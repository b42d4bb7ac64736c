/**
 * The OpenAPI document as other tools take it, fetched from a running API (real PostgreSQL):
 * - Redocly CLI lints it (recommended rules, redocly.yaml) with no error and no warning — and finds
 *   the errors in a broken copy, so the lint is known to look;
 * - openapi-typescript generates types from it, a small typed-fetch program compiles against them
 *   with tsc (and is refused where it sends what the API would refuse), then runs against the API;
 * - its operations and the app's routes are the same set, each way.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type RunningServer, startServer, TASK_NAMES, TASKS } from '@taskfleet/core';
import { Hono } from 'hono';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test-support/api.ts';
import { useTestDatabase } from '../../../test-support/database.ts';
import { useTempDirs } from '../../../test-support/temp.ts';
import { TYPED_CLIENT } from './openapi-client-program.ts';

type Operation = { operationId: string; summary: string; responses: Record<string, unknown> };
type Doc = { servers: { url: string }[]; paths: Record<string, Record<string, Operation>>; components: Record<string, any> };

const ROOT = path.resolve(import.meta.dirname, '../../..');
const db = useTestDatabase();
const tempDir = useTempDirs();
let api: TestApi;
let server: RunningServer;
let key: string;
let doc: Doc;

beforeAll(async () => {
  api = await startTestApi(db, { API_AUTH: 'required' });
  server = await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'openapi-contract-api' });
  key = await api.createKey('openapi-contract', ['submit', 'read']);
  const res = await fetch(`${server.url}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
});
afterAll(async () => {
  await server?.close(1_000);
  await api?.close();
});

/** Run a Node CLI with this repo's Node; never throws (the exit code is in the answer). */
function run(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([template, methods]) => Object.entries(methods).map(([method, op]) => ({ template, method, op })));

describe('the OpenAPI contract', () => {
  it('is served with the server it was asked on and a stable operationId for every operation', async () => {
    expect(doc.servers).toEqual([{ url: server.url }]);
    const asLocalhost = (await (await fetch(`${server.url.replace('127.0.0.1', 'localhost')}/openapi.json`)).json()) as Doc;
    expect(asLocalhost.servers).toEqual([{ url: server.url.replace('127.0.0.1', 'localhost') }]);
    const expected = [
      // Internal task types (callback deliveries) are made by the fleet, not submitted.
      ...TASK_NAMES.filter((name) => !TASKS[name].internal).flatMap((name) => [`enqueueTask_${name}`, `enqueueBatch_${name}`]),
      ...['getTask', 'getTaskById', 'listTasks', 'cancelTask', 'retryTask', 'redriveDeadLetter', 'listQueues', 'getQueue', 'updateQueue'],
      ...['setSchedule', 'getSchedule', 'deleteSchedule', 'listSchedules'],
      ...['whoami', 'listWorkers', 'getStats', 'getHealth', 'getReadiness', 'getMetrics'],
    ];
    expect(operations().map((o) => o.op.operationId)).toEqual(expected);
  });

  it('passes Redocly lint with the recommended rules (no error, no warning), which finds errors in a broken copy', async () => {
    const dir = await tempDir('openapi-lint-');
    const broken = structuredClone(doc);
    const getTask = broken.paths['/v1/queues/{queue}/tasks/{id}']?.get as Partial<Operation>;
    const getQueue = broken.paths['/v1/queues/{queue}']?.get as Operation;
    delete getTask.summary;
    delete getQueue.responses['401'];
    broken.components.schemas.Task.properties.source = { $ref: '#/components/schemas/Nowhere' };
    await writeFile(path.join(dir, 'openapi.json'), JSON.stringify(doc));
    await writeFile(path.join(dir, 'broken.json'), JSON.stringify(broken));
    const cli = path.join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');
    const lint = await run([cli, 'lint', 'openapi.json', 'broken.json', '--config', path.join(ROOT, 'redocly.yaml'), '--format=json'], {
      cwd: dir,
      env: { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    });
    // One JSON report per file, one after the other.
    const reports = JSON.parse(`[${lint.stdout.trim().replaceAll('\n}{\n', '\n},{\n')}]`) as {
      problems: { ruleId: string; severity: string; message: string; location: { source: { ref: string }; pointer: string }[] }[];
    }[];
    expect(reports).toHaveLength(2);
    const of = (file: string) => reports.flatMap((r) => r.problems).filter((p) => p.location[0]?.source.ref.endsWith(file));
    expect(of('openapi.json').map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`)).toEqual([]);
    expect(new Set(of('broken.json').map((p) => `${p.severity} ${p.ruleId}`))).toEqual(
      new Set(['error operation-summary', 'error rule/v1-operation-documents-401', 'error no-unresolved-refs']),
    );
    expect(lint.code).not.toBe(0);
  });

  it('generates a TypeScript client with openapi-typescript that tsc accepts and that works against the API', async () => {
    const dir = await tempDir('openapi-client-');
    await writeFile(path.join(dir, 'schema.ts'), astToString(await openapiTS(doc as never)));
    await writeFile(path.join(dir, 'client.ts'), TYPED_CLIENT);
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const compilerOptions = {
      strict: true,
      noEmit: true,
      target: 'es2023',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      allowImportingTsExtensions: true,
      lib: ['es2023', 'dom'],
      types: [],
    };
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['client.ts'] }));
    const tsc = await run([path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);

    const script =
      'const { main } = await import("./client.ts"); console.log(JSON.stringify(await main(process.env.BASE, process.env.KEY)));';
    const ran = await run(['--input-type=module', '-e', script], { cwd: dir, env: { BASE: server.url, KEY: key } });
    expect(ran.stderr).toBe('');
    const { receipt, task } = JSON.parse(ran.stdout) as { receipt: { id: string; state: string }; task: Record<string, unknown> };
    expect(receipt.state).toBe('scheduled');
    expect(task).toMatchObject({ id: receipt.id, queue: 'noop', priority: 'high', payload: { echo: { n: [1, 'two', null] } } });
  });

  it('lists exactly the operations the app routes', async () => {
    const sample = (template: string) => template.replace('{queue}', 'noop').replace('{id}', '0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b');
    const documented = operations().map(({ template, method }) => ({ method: method.toUpperCase(), url: sample(template) }));
    const probes = new Set(['/healthz', '/readyz', '/metrics']);
    const routes = api.app.routes.filter((r) => r.method !== 'ALL' && (r.path.startsWith('/v1/') || probes.has(r.path)));
    /** Does this route's own pattern take the request? (Hono's router alone; no handler runs.) */
    const takes = async (route: { method: string; path: string }, request: { method: string; url: string }) =>
      (await new Hono().on(route.method, route.path, (c) => c.text('hit')).request(request.url, { method: request.method })).status === 200;
    for (const op of documented) {
      const hits = await Promise.all(routes.map((r) => takes(r, op)));
      expect(hits.some(Boolean), `no route for ${op.method} ${op.url}`).toBe(true);
    }
    for (const route of routes) {
      const hits = await Promise.all(documented.map((op) => takes(route, op)));
      expect(hits.some(Boolean), `${route.method} ${route.path} is not documented`).toBe(true);
    }
  });
});
