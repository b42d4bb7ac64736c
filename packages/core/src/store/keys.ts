/**
 * API key rows (`taskfleet.api_keys`): create, list, revoke, verify a presented key, record its use.
 * Only the SHA-256 of a key's secret is stored (the crypto is in ../api-keys.ts).
 */
import { type ApiKeyScope, generateApiKey, parseApiKey, secretMatches } from '../api-keys.ts';
import type { ExecuteSql } from './executor.ts';

export interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  rateLimitPerSecond: number | null;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const COLUMNS = `id, name, prefix, scopes, rate_limit_per_second AS "rateLimitPerSecond", created_at AS "createdAt",
  revoked_at AS "revokedAt", last_used_at AS "lastUsedAt"`;

export async function createApiKey(
  executeSql: ExecuteSql,
  input: { name: string; scopes: ApiKeyScope[]; rateLimitPerSecond?: number | null },
): Promise<{ key: string; row: ApiKeyRow }> {
  const generated = generateApiKey();
  const { rows } = await executeSql(
    `INSERT INTO taskfleet.api_keys (name, prefix, secret_sha256, scopes, rate_limit_per_second)
     VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [input.name, generated.prefix, generated.secretSha256, input.scopes, input.rateLimitPerSecond ?? null],
  );
  return { key: generated.key, row: rows[0] as ApiKeyRow };
}

export async function listApiKeys(executeSql: ExecuteSql): Promise<ApiKeyRow[]> {
  const { rows } = await executeSql(`SELECT ${COLUMNS} FROM taskfleet.api_keys ORDER BY created_at`);
  return rows as ApiKeyRow[];
}

export async function revokeApiKey(executeSql: ExecuteSql, name: string): Promise<boolean> {
  const { rows } = await executeSql(
    `UPDATE taskfleet.api_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING id`,
    [name],
  );
  return rows.length > 0;
}

/** The key row for a presented key, if it exists, is not revoked and its secret matches. */
export async function verifyApiKey(executeSql: ExecuteSql, presented: string): Promise<ApiKeyRow | undefined> {
  const parsed = parseApiKey(presented);
  if (!parsed) return undefined;
  const { rows } = await executeSql(`SELECT ${COLUMNS}, secret_sha256 AS "secretSha256" FROM taskfleet.api_keys WHERE prefix = $1`, [
    parsed.prefix,
  ]);
  const row = rows[0] as (ApiKeyRow & { secretSha256: Buffer }) | undefined;
  // Compare even when no row was found, so timing does not reveal which prefixes exist.
  const matches = secretMatches(parsed.secret, row?.secretSha256 ?? Buffer.alloc(32));
  if (!row || !matches || row.revokedAt) return undefined;
  const { secretSha256: _hash, ...key } = row;
  return key;
}

export async function touchApiKey(executeSql: ExecuteSql, id: string): Promise<void> {
  await executeSql(`UPDATE taskfleet.api_keys SET last_used_at = now() WHERE id = $1`, [id]);
}
