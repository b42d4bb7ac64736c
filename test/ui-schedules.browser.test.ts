/**
 * The dashboard's schedules page in Debian's Chromium (playwright-core) against a real API on a real
 * PostgreSQL: the header links to it, it lists what GET /v1/schedules answers, and a key with the
 * submit scope deletes a schedule (confirmed) while a read-only key sees the button disabled.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startServer } from '@taskfleet/core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../test-support/api.ts';
import { useTestDatabase } from '../test-support/database.ts';
import { ROOT } from '../test-support/processes.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-results', 'ui');
const db = useTestDatabase();
let api: TestApi;
let server: Awaited<ReturnType<typeof startServer>>;
let browser: Browser;
const keys = { admin: '', read: '' };
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`);
  await mkdir(SHOTS, { recursive: true });
  api = await startTestApi(db, { API_AUTH: 'required' });
  server = await startServer(api.app, { host: '127.0.0.1', port: 0, name: 'ui-schedules-api' });
  keys.admin = await api.createKey('ui-admin', ['admin']);
  keys.read = await api.createKey('ui-reader', ['read']);
  for (const [name, cron, timezone] of [
    ['hourly-report', '0 * * * *', 'UTC'],
    ['berlin-morning', '0 9 * * 1-5', 'Europe/Berlin'],
  ]) {
    const res = await api.request(`/v1/schedules/${name}`, {
      method: 'PUT',
      key: keys.admin,
      json: { queue: 'noop', cron, timezone, payload: {} },
    });
    expect(res.status).toBe(201);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close(1_000);
  await api?.close();
});

async function open(key: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('dialog', (d) => void d.accept());
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
  });
  await page.goto(`${server.url}/ui`);
  await page.getByTestId('key').fill(key);
  await page.getByRole('button', { name: 'Open dashboard' }).click();
  await expect.poll(() => page.getByTestId('who').textContent()).toContain('ui-');
  return page;
}

describe('dashboard schedules page (Chromium)', () => {
  it('lists the schedules and deletes one; a read-only key cannot', { timeout: 60_000 }, async () => {
    const reader = await open(keys.read);
    await reader.getByTestId('nav-schedules').click();
    await expect.poll(() => reader.getByTestId('schedule-berlin-morning').count()).toBe(1);
    expect(await reader.getByTestId('schedule-hourly-report').getByRole('button', { name: 'Delete' }).isDisabled()).toBe(true);
    const row = reader.getByTestId('schedule-berlin-morning');
    expect(await row.textContent()).toContain('0 9 * * 1-5');
    expect(await row.textContent()).toContain('Europe/Berlin');
    await reader.close();

    const admin = await open(keys.admin);
    await admin.goto(`${server.url}/ui#/schedules`);
    await expect.poll(() => admin.getByTestId('schedule-hourly-report').count()).toBe(1);
    await admin.screenshot({ path: path.join(SHOTS, 'schedules.png'), fullPage: true });
    await admin.getByTestId('schedule-hourly-report').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => admin.getByTestId('schedule-hourly-report').count()).toBe(0);
    expect(await admin.getByTestId('schedule-berlin-morning').count()).toBe(1);
    expect((await api.request('/v1/schedules/hourly-report', { key: keys.admin })).status).toBe(404);
    await admin.close();
    // The login page's first /v1/me goes without a key: its 401 is expected.
    expect(pageErrors.filter((e) => !/401 \(Unauthorized\)/.test(e))).toEqual([]);
  });
});
