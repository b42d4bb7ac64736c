/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against a real API
 * (and a worker) on a real PostgreSQL. Pages load behind the API key, show the numbers the API
 * serves, page through tasks, and the actions (cancel, retry, redrive — each confirmed) change the
 * tasks; a read-only key sees every page with the actions disabled. Screenshots go to
 * test-results/ui/ (CI keeps them as artefacts).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startServer } from '@taskfleet/core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../test-support/api.ts';
import { useTestDatabase } from '../test-support/database.ts';
import { enqueue } from '../test-support/enqueue.ts';
import { ROOT } from '../test-support/processes.ts';
import { startTestWorker, states, type TestWorker, waitFor } from '../test-support/worker.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-results', 'ui');
const db = useTestDatabase();
let api: TestApi;
let server: Awaited<ReturnType<typeof startServer>>;
let worker: TestWorker;
let browser: Browser;
const keys = { admin: '', read: '' };
/** Script errors and failed requests in the page: a test fails on any. */
const pageErrors: string[] = [];
const ids = { scheduled: [] as string[], dead: '' };

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`);
  await mkdir(SHOTS, { recursive: true });
  api = await startTestApi(db, { API_AUTH: 'required', QUEUE_STATS_INTERVAL_SECONDS: '1' });
  server = await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'ui-test-api' });
  keys.admin = await api.createKey('ui-admin', ['admin', 'submit', 'read']);
  keys.read = await api.createKey('ui-reader', ['read']);
  worker = await startTestWorker(db, { QUEUE_STATS_INTERVAL_SECONDS: '1' });
  ids.scheduled = await enqueue(
    db,
    'noop',
    Array.from({ length: 30 }, (_, i) => ({ payload: { echo: i }, delaySeconds: 3600, priority: i % 2 ? 'high' : 'low' })),
  );
  [ids.dead] = (await enqueue(db, 'noop', [{ payload: { failPermanently: true }, maxAttempts: 1 }])) as [string];
  await waitFor(async () => (await states(db, [ids.dead])).get(ids.dead) === 'failed', 'the poison task dead-lettered');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);

afterEach(() => {
  const errors = pageErrors.splice(0);
  expect(errors.filter((e) => !/401 \(Unauthorized\)/.test(e))).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await server?.close(1_000);
  await api?.close();
});

async function open(key: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('dialog', (d) => void d.accept()); // the confirmations
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
  });
  await page.goto(`${server.url}/ui`);
  await page.getByTestId('key').fill(key);
  await page.getByRole('button', { name: 'Open dashboard' }).click();
  return page;
}

async function stats() {
  const res = await fetch(`${server.url}/v1/stats`, { headers: { authorization: `Bearer ${keys.admin}` } });
  return (await res.json()) as { queues: { queue: string; depth: Record<string, number>; readyByPriority: Record<string, number> }[] };
}

describe('dashboard (Chromium)', () => {
  it('refuses a wrong key and shows the overview with the numbers the API serves', { timeout: 60_000 }, async () => {
    const wrong = await open('tf_wrong');
    await expect.poll(() => wrong.getByText('That API key was refused.').count()).toBe(1);
    await wrong.close();

    const page = await open(keys.admin);
    await expect.poll(() => page.getByTestId('who').textContent()).toContain('ui-admin');
    const row = page.getByTestId('queue-noop');
    // The snapshot refreshes every second: wait until it has the 30 scheduled tasks, then compare.
    await expect.poll(async () => row.getByTestId('scheduled').textContent(), { timeout: 15_000 }).toBe('30');
    const noop = (await stats()).queues.find((q) => q.queue === 'noop');
    expect(await row.getByTestId('ready').textContent()).toBe(String(noop?.depth.ready));
    expect(await row.getByTestId('dead_lettered').textContent()).toBe(String(noop?.depth.dead_lettered));
    expect(noop?.depth.dead_lettered).toBe(1);
    await expect
      .poll(() => page.getByTestId('worker-totals').textContent(), { timeout: 15_000 })
      .toMatch(/^1 replicas, \d+ \/ \d+ slots busy$/);
    await page.screenshot({ path: path.join(SHOTS, 'overview.png'), fullPage: true });
    await page.close();
  });

  it('pages through a queue, opens a task and cancels then retries it', { timeout: 60_000 }, async () => {
    const page = await open(keys.admin);
    await page.getByRole('link', { name: 'noop', exact: true }).click();
    await page.getByTestId('state-filter').selectOption('scheduled');
    await expect.poll(() => page.getByTestId('task-row').count()).toBe(25);
    await page.getByTestId('next-page').click();
    await expect.poll(() => page.getByTestId('task-row').count()).toBe(5);
    await page.screenshot({ path: path.join(SHOTS, 'queue.png'), fullPage: true });

    const id = ids.scheduled[0] as string;
    await page.getByTestId('search').fill(id);
    await page.getByRole('button', { name: 'Find' }).click();
    await expect.poll(() => page.getByTestId('task-detail').textContent()).toContain('0 of 3'); // noop's default maxAttempts
    await page.getByTestId('cancel').click();
    await expect.poll(() => page.getByTestId('state').first().textContent()).toBe('cancelled');
    expect((await states(db, [id])).get(id)).toBe('cancelled');
    await page.getByTestId('retry').click();
    await expect.poll(() => page.getByTestId('state').first().textContent()).not.toBe('cancelled');
    expect((await states(db, [id])).get(id)).not.toBe('cancelled');
    await page.screenshot({ path: path.join(SHOTS, 'task.png'), fullPage: true });
    await page.close();
  });

  it('shows a dead-lettered task with its error and redrives the queue', { timeout: 60_000 }, async () => {
    const page = await open(keys.admin);
    await page.goto(`${server.url}/ui#/task/noop/${ids.dead}`);
    await expect.poll(() => page.getByTestId('errors').textContent()).toContain('noop asked to fail permanently');
    expect(await page.getByTestId('state').first().textContent()).toBe('dead lettered');
    await page.goto(`${server.url}/ui#/queue/noop`);
    await page.getByTestId('redrive').click();
    await expect.poll(() => page.getByTestId('flash').textContent()).toBe('Redrove 1 task(s).');
    await page.close();
  });

  it("shows a task's progress and callback URL", { timeout: 60_000 }, async () => {
    const [id] = (await enqueue(db, 'noop', [{ payload: { progress: { values: [42] } } }])) as [string];
    await waitFor(async () => (await states(db, [id])).get(id) === 'completed', 'the task completed');
    const page = await open(keys.admin);
    await page.goto(`${server.url}/ui#/task/noop/${id}`);
    await expect.poll(() => page.getByTestId('progress').textContent()).toBe(' 42 %');
    expect(await page.locator('[data-testid="progress"] progress').getAttribute('value')).toBe('42');
    expect(await page.getByTestId('callback').textContent()).toBe('—');
    await page.close();
  });

  it('keeps the page of the newest route when an earlier one answers later', { timeout: 60_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    // The overview's data arrives late (as on a loaded server); the task page asked for after it must stay.
    await page.route('**/v1/stats', async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await r.continue().catch(() => undefined);
    });
    await page.goto(`${server.url}/ui`);
    await page.getByTestId('key').fill(keys.admin);
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await page.goto(`${server.url}/ui#/task/noop/${ids.dead}`);
    await expect.poll(() => page.getByTestId('errors').textContent()).toContain('noop asked to fail permanently');
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // the overview's answer has come and gone
    expect(await page.getByTestId('state').first().textContent({ timeout: 1_000 })).toBe('dead lettered');
    await page.close();
  });

  it("pauses, limits and resumes a queue's fleet-wide flow control", { timeout: 60_000 }, async () => {
    const page = await open(keys.admin);
    await page.goto(`${server.url}/ui#/queue/noop`);
    const settings = async () =>
      (
        (await (await fetch(`${server.url}/v1/queues/noop`, { headers: { authorization: `Bearer ${keys.admin}` } })).json()) as {
          settings: unknown;
        }
      ).settings;
    await page.getByTestId('pause').click();
    await expect.poll(() => page.getByTestId('queue-status').textContent()).toBe('paused');
    expect(await settings()).toMatchObject({ paused: true });
    await page.getByTestId('concurrency').fill('7');
    await page.getByTestId('rate-limit').fill('30');
    await page.getByTestId('rate-period').fill('2');
    await page.getByTestId('group-concurrency').fill('3');
    await page.getByTestId('save-limits').click();
    await expect.poll(() => page.getByTestId('flash').textContent()).toBe('Limits saved.');
    expect(await settings()).toEqual({ paused: true, concurrency: 7, rate: { limit: 30, periodSeconds: 2 }, groupConcurrency: 3 });
    await page.screenshot({ path: path.join(SHOTS, 'queue-settings.png'), fullPage: true });
    await page.getByTestId('concurrency').fill('');
    await page.getByTestId('rate-limit').fill('');
    await page.getByTestId('group-concurrency').fill('');
    await page.getByTestId('save-limits').click();
    await expect.poll(() => page.getByTestId('flash').textContent()).toBe('Limits saved.');
    await page.getByTestId('resume').click();
    await expect.poll(() => page.getByTestId('queue-status').textContent()).toBe('running');
    expect(await settings()).toEqual({ paused: false, concurrency: null, rate: null, groupConcurrency: null });
    await page.close();
  });

  it('lets a read-only key look but not act', { timeout: 60_000 }, async () => {
    const page = await open(keys.read);
    await expect.poll(() => page.getByTestId('who').textContent()).toContain('ui-reader (read)');
    await page.goto(`${server.url}/ui#/queue/noop`);
    await expect.poll(() => page.getByTestId('redrive').isDisabled()).toBe(true);
    expect(await page.getByTestId('pause').isDisabled()).toBe(true);
    expect(await page.getByTestId('save-limits').isDisabled()).toBe(true);
    await page.goto(`${server.url}/ui#/task/noop/${ids.scheduled[1]}`);
    await expect.poll(() => page.getByTestId('cancel').isDisabled()).toBe(true);
    expect(await page.getByTestId('retry').isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'read-only.png'), fullPage: true });
    await page.close();
  });
});
