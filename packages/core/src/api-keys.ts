/**
 * API keys: `tf_<prefix>_<secret>`. The prefix (public, 12 chars) finds the row; only the SHA-256 of
 * the 256-bit secret is stored and compared in constant time. Scopes: `submit` (enqueue, and read,
 * cancel and retry its own tasks), `read` (read everything), `admin` (everything). The statements on
 * the key table are in store/keys.ts.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_SCOPES = ['submit', 'read', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

const KEY_FORMAT = /^tf_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface GeneratedKey {
  /** The full key: shown once, never stored. */
  key: string;
  prefix: string;
  secretSha256: Buffer;
}

export function generateApiKey(): GeneratedKey {
  const bytes = randomBytes(12);
  const prefix = [...bytes].map((b) => PREFIX_ALPHABET[b % PREFIX_ALPHABET.length]).join('');
  const secret = randomBytes(32).toString('base64url');
  return { key: `tf_${prefix}_${secret}`, prefix, secretSha256: sha256(secret) };
}

export function parseApiKey(key: string): { prefix: string; secret: string } | undefined {
  const m = KEY_FORMAT.exec(key);
  return m ? { prefix: m[1] as string, secret: m[2] as string } : undefined;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function secretMatches(secret: string, storedSha256: Buffer): boolean {
  const presented = sha256(secret);
  return presented.length === storedSha256.length && timingSafeEqual(presented, storedSha256);
}
