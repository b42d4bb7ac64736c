/** Options every API command takes, and the helpers for reading option values. */
import type { ParseArgsOptionsConfig, parseArgs } from 'node:util';

export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const GLOBAL_HELP = `Global options:
  --url URL        API base URL (TASKFLEET_URL; default http://127.0.0.1:8080)
  --key KEY        API key (TASKFLEET_API_KEY)
  --json           machine-readable output on stdout
  -h, --help       help for a command`;

/** The option values parseArgs gives for an options table. */
export type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>['values'];

/** Bad command line: the message goes to stderr and the exit code is 2. */
export class UsageError extends Error {}

/** A whole-number option (undefined when absent). */
export function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}
