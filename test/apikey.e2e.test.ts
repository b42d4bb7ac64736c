/** `npm run apikey`: create prints a working key once, list shows it without the secret, revoke stops it. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyApiKey } from '@taskfleet/core';
import { useTestDatabase } from '../test-support/database.ts';

const db = useTestDatabase();
const ROOT = path.resolve(import.meta.dirname, '..');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['scripts/apikey.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url },
    encoding: 'utf8',
  });

describe('apikey command', () => {
  it('creates, lists and revokes keys', () => {
    const created = cli('create', '--name', 'billing-service', '--scopes', 'submit,read', '--json');
    expect(created.status, created.stderr).toBe(0);
    const { key, name, scopes } = JSON.parse(created.stdout) as { key: string; name: string; scopes: string[] };
    expect(name).toBe('billing-service');
    expect(scopes).toEqual(['submit', 'read']);
    expect(key).toMatch(/^tf_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    return (async () => {
      expect((await verifyApiKey((t, v) => db.query(t, v), key))?.name).toBe('billing-service');
      const listed = cli('list', '--json');
      expect(listed.stdout).toContain('billing-service');
      // The secret is everything after `tf_<prefix>_` (base64url: it may itself contain '_').
      expect(listed.stdout).not.toContain(key.slice('tf_'.length + 12 + 1));
      expect(cli('create', '--name', 'billing-service').stderr).toMatch(/already exists/);
      expect(cli('create', '--name', 'x', '--scopes', 'root').stderr).toMatch(/unknown scope\(s\) root/);
      expect(cli('revoke', '--name', 'billing-service').status).toBe(0);
      expect(await verifyApiKey((t, v) => db.query(t, v), key)).toBeUndefined();
      expect(cli('revoke', '--name', 'billing-service').status).toBe(2);
      expect(cli('frobnicate').stderr).toMatch(/usage: npm run apikey/);
    })();
  });
});
