/**
 * `npm run apikey -- <command>`: manage API keys (embedded PostgreSQL when DATABASE_URL is unset).
 *
 *   create --name billing-service [--scopes submit,read,admin] [--rate-limit 100]
 *   list
 *   revoke --name billing-service
 *
 * The key is printed once on create; only its hash is stored. Keys live on the home shard (the
 * lowest id of DATABASE_SHARDS, or DATABASE_URL): the API authenticates against that shard only.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  API_KEY_SCOPES,
  type ApiKeyScope,
  ConfigError,
  createApiKey,
  createLogger,
  listApiKeys,
  loadConfig,
  revokeApiKey,
} from '@taskfleet/core';
import { localDatabase } from './lib/database.ts';

const USAGE = `usage: npm run apikey -- create --name NAME [--scopes submit,read,admin] [--rate-limit N]
       npm run apikey -- list
       npm run apikey -- revoke --name NAME`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    scopes: { type: 'string', default: 'submit' },
    'rate-limit': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const command = positionals[0];
if (!command || !['create', 'list', 'revoke'].includes(command)) fail(USAGE);

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  fail(err instanceof ConfigError ? err.message : String(err));
}
const logger = createLogger({ role: 'cli', config: { ...config, log: { ...config.log, level: 'warn' } }, destination: process.stderr });
const db = await localDatabase(config, logger, { shareRunning: true, homeOnly: true });
const client = new pg.Client({ connectionString: db.url, application_name: 'taskfleet-cli' });
try {
  await client.connect();
  const sql = (text: string, params?: unknown[]) => client.query(text, params);
  if (command === 'create') {
    if (!values.name) fail(`--name is required\n${USAGE}`);
    const scopes = values.scopes.split(',').map((s) => s.trim());
    const bad = scopes.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
    if (bad.length) fail(`unknown scope(s) ${bad.join(', ')}: expected ${API_KEY_SCOPES.join(', ')}`);
    const rate = values['rate-limit'] === undefined ? null : Number(values['rate-limit']);
    if (rate !== null && (!Number.isInteger(rate) || rate < 1))
      fail('--rate-limit must be a positive integer (requests per second per replica)');
    try {
      const { key, row } = await createApiKey(sql, { name: values.name, scopes: scopes as ApiKeyScope[], rateLimitPerSecond: rate });
      if (values.json) console.log(JSON.stringify({ key, ...row }));
      else
        console.log(`created API key "${row.name}" (scopes: ${row.scopes.join(', ')})\n\n  ${key}\n\nStore it now: it is not shown again.`);
    } catch (err) {
      const e = err as { code?: string; constraint?: string };
      if (e.code === '23505') fail(`an API key named "${values.name}" already exists`);
      if (e.code === '23514') fail(`invalid name "${values.name}": use lower-case letters, digits, . _ - (at most 63)`);
      throw err;
    }
  } else if (command === 'list') {
    const rows = await listApiKeys(sql);
    if (values.json) console.log(JSON.stringify(rows));
    else
      console.table(
        rows.map((r) => ({
          name: r.name,
          prefix: `tf_${r.prefix}_…`,
          scopes: r.scopes.join(','),
          rateLimit: r.rateLimitPerSecond ?? 'default',
          revoked: r.revokedAt ? r.revokedAt.toISOString() : '',
          lastUsed: r.lastUsedAt?.toISOString() ?? '',
        })),
      );
  } else {
    if (!values.name) fail(`--name is required\n${USAGE}`);
    const revoked = await revokeApiKey(sql, values.name);
    if (!revoked) fail(`no active API key named "${values.name}"`);
    console.log(`revoked "${values.name}" (replicas stop accepting it within API_KEY_CACHE_SECONDS=${config.api.keyCacheSeconds})`);
  }
} finally {
  await client.end();
  await db.stop();
}
