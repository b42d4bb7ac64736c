/**
 * pino everywhere: JSON in production (or whenever stdout is not a terminal), pretty on a TTY,
 * secrets redacted. Child loggers carry the request id or the queue and job id.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config.ts';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log object. */
export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.password',
  'password',
  '*.apiKey',
  'apiKey',
  '*.secret',
  'secret',
  'databaseUrl',
  '*.databaseUrl',
  'connectionString',
  '*.connectionString',
];

export interface LoggerFactoryOptions {
  /** Role of the process (`api`, `worker`, `supervisor`, `migrate`), added to every line. */
  role: string;
  config: Pick<Config, 'log' | 'env'>;
  /** Extra fixed fields, e.g. the worker replica id. */
  base?: Record<string, unknown>;
  /** Where to write; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

export function createLogger({ role, config, base, destination }: LoggerFactoryOptions): Logger {
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && !destination && process.stdout.isTTY === true);
  const options: LoggerOptions = {
    level: config.log.level,
    base: { role, pid: process.pid, ...base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: serializeError },
  };
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', singleLine: false } },
    });
  }
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

/** pino's error serializer without the pg client that pg attaches to connection errors. */
function serializeError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (serialized && typeof serialized === 'object') delete serialized.client;
  return serialized;
}

/** A database URL with its password replaced, safe to print. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
