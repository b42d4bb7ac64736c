/**
 * Configuration is a pure function of the environment: `loadConfig(env)` reads every variable the
 * fleet uses, applies typed defaults from one table, and fails fast naming each bad variable and
 * the form it expects. Nothing falls back silently on a bad value.
 */
import { z } from 'zod';

/** One environment variable: how it is parsed, its default and what it means (for the README). */
interface VarSpec<T, Optional extends boolean = boolean> {
  readonly schema: z.ZodType<T>;
  /** `true` = may stay unset (no default). */
  readonly optional: Optional;
  /** The expected form, shown in errors and docs, e.g. "integer 1–10000". */
  readonly form: string;
  /** Default as the string a user would write; `undefined` means "unset is allowed". */
  readonly default: string | undefined;
  readonly doc: string;
}

function intVar(def: number, min: number, max: number, doc: string): VarSpec<number, false> {
  return {
    schema: z
      .string()
      .regex(/^-?\d+$/)
      .transform(Number)
      .pipe(z.number().int().min(min).max(max)),
    optional: false,
    form: `an integer from ${min} to ${max}`,
    default: String(def),
    doc,
  };
}

function enumVar<const T extends readonly [string, ...string[]]>(values: T, def: T[number], doc: string): VarSpec<T[number], false> {
  return { schema: z.enum(values), optional: false, form: `one of ${values.join(' | ')}`, default: def, doc };
}

export function boolVar(def: boolean, doc: string): VarSpec<boolean, false> {
  return {
    optional: false,
    schema: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
    form: 'true | false',
    default: String(def),
    doc,
  };
}

function stringVar(def: string, form: string, doc: string): VarSpec<string, false> {
  return { schema: z.string().min(1), optional: false, form, default: def, doc };
}

function optionalVar<T>(schema: z.ZodType<T>, form: string, doc: string): VarSpec<T, true> {
  return { schema, optional: true, form, default: undefined, doc };
}

const postgresUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'postgres:' || u.protocol === 'postgresql:';
  } catch {
    return false;
  }
});

const queueList = z
  .string()
  .regex(/^[a-z0-9._-]+(\s*,\s*[a-z0-9._-]+)*$/)
  .transform((v) => v.split(',').map((s) => s.trim()));

/**
 * Every environment variable the fleet reads. The README's configuration table is generated from
 * this object (`npm run docs:config`) and a test keeps the two in sync.
 */
export const ENV_VARS = {
  NODE_ENV: enumVar(
    ['development', 'production', 'test'] as const,
    'development',
    'Deployment mode. `production` refuses unsafe development conveniences.',
  ),
  LOG_LEVEL: enumVar(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info', 'Minimum pino log level.'),
  LOG_FORMAT: enumVar(
    ['auto', 'json', 'pretty'] as const,
    'auto',
    '`auto` prints JSON unless stdout is a terminal, where it pretty-prints.',
  ),
  DATABASE_URL: optionalVar(
    postgresUrl,
    'a postgres:// URL',
    'PostgreSQL to use. Unset: `npm start` runs an embedded PostgreSQL under `.data/`; the apps themselves require it.',
  ),
  DATABASE_CONNECT_TIMEOUT_MS: intVar(5000, 100, 120_000, 'How long to wait for a new database connection before failing.'),
  DATABASE_STATEMENT_TIMEOUT_MS: intVar(30_000, 100, 3_600_000, 'Server-side `statement_timeout` for every pooled connection.'),
  API_HOST: stringVar('0.0.0.0', 'a host name or IP address', 'Interface the API listens on.'),
  API_PORT: intVar(8080, 1, 65535, 'Port the API listens on.'),
  API_DB_POOL_SIZE: intVar(10, 1, 500, 'Maximum PostgreSQL connections per API replica.'),
  WORKER_HOST: stringVar('0.0.0.0', 'a host name or IP address', 'Interface the worker health/metrics server listens on.'),
  WORKER_PORT: intVar(9464, 1, 65535, 'Port of the worker health/metrics server (`npm start` gives replica i the port WORKER_PORT+i).'),
  WORKER_ID: optionalVar(
    z.string().regex(/^[A-Za-z0-9._-]{1,40}$/),
    'letters, digits, . _ - (at most 40)',
    'Name of this worker replica in logs, metrics and `application_name`. Unset: `<hostname>-<pid>`.',
  ),
  WORKER_CONCURRENCY: intVar(100, 1, 10_000, 'Job slots per worker replica (jobs running at once).'),
  WORKER_DB_POOL_SIZE: intVar(10, 2, 500, 'Maximum PostgreSQL connections per worker replica.'),
  WORKER_QUEUES: optionalVar(queueList, 'comma-separated queue names', 'Queues this replica drains. Unset: every registered task type.'),
  WORKER_SHUTDOWN_GRACE_SECONDS: intVar(30, 0, 3600, 'On SIGTERM, how long running jobs may finish before they are aborted into retry.'),
  WORKER_REPLICAS: intVar(2, 0, 64, 'How many worker processes `npm start` runs on this machine.'),
  EMBEDDED_PG_DIR: stringVar(
    '.data/postgres',
    'a directory path',
    'Data directory of the embedded PostgreSQL used when DATABASE_URL is unset.',
  ),
  EMBEDDED_PG_PORT: intVar(54329, 1, 65535, 'Port of the embedded PostgreSQL (listens on 127.0.0.1 only).'),
} as const;

export type EnvVarName = keyof typeof ENV_VARS;
type Vars = typeof ENV_VARS;
type Parsed = { [K in EnvVarName]: z.output<Vars[K]['schema']> | (Vars[K]['optional'] extends true ? undefined : never) };

/** The typed configuration every process builds once at start. */
export interface Config {
  env: 'development' | 'production' | 'test';
  log: { level: Parsed['LOG_LEVEL']; format: Parsed['LOG_FORMAT'] };
  database: { url: string | undefined; connectTimeoutMs: number; statementTimeoutMs: number };
  api: { host: string; port: number; poolSize: number };
  worker: {
    /** Replica name; `undefined` = derive from host name and pid. */
    id: string | undefined;
    host: string;
    port: number;
    concurrency: number;
    poolSize: number;
    /** `null` = every registered task type. */
    queues: string[] | null;
    shutdownGraceSeconds: number;
    replicas: number;
  };
  embedded: { dataDir: string; port: number };
}

/** Thrown when the environment is invalid; its message lists every problem, one per line. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parse the environment into a {@link Config}. Unset and empty variables take their default.
 * @throws ConfigError naming every bad variable, its value and the expected form.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENV_VARS) as [EnvVarName, VarSpec<unknown>][]) {
    const given = env[name];
    const raw = given === undefined || given.trim() === '' ? spec.default : given.trim();
    if (raw === undefined) {
      values[name] = undefined;
      continue;
    }
    const result = spec.schema.safeParse(raw);
    if (result.success) values[name] = result.data;
    else {
      const shown = /URL|PASSWORD|SECRET|TOKEN|KEY/.test(name) ? '<redacted>' : JSON.stringify(raw);
      problems.push(`${name}=${shown} is invalid: expected ${spec.form}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const v = values as Parsed;
  return {
    env: v.NODE_ENV,
    log: { level: v.LOG_LEVEL, format: v.LOG_FORMAT },
    database: {
      url: v.DATABASE_URL,
      connectTimeoutMs: v.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: v.DATABASE_STATEMENT_TIMEOUT_MS,
    },
    api: { host: v.API_HOST, port: v.API_PORT, poolSize: v.API_DB_POOL_SIZE },
    worker: {
      id: v.WORKER_ID,
      host: v.WORKER_HOST,
      port: v.WORKER_PORT,
      concurrency: v.WORKER_CONCURRENCY,
      poolSize: v.WORKER_DB_POOL_SIZE,
      queues: v.WORKER_QUEUES ?? null,
      shutdownGraceSeconds: v.WORKER_SHUTDOWN_GRACE_SECONDS,
      replicas: v.WORKER_REPLICAS,
    },
    embedded: { dataDir: v.EMBEDDED_PG_DIR, port: v.EMBEDDED_PG_PORT },
  };
}

/** The database URL, or a clear failure: the apps never guess a database. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.database.url) {
    throw new ConfigError(['DATABASE_URL is not set: expected a postgres:// URL (`npm start` sets it for you)']);
  }
  return config.database.url;
}

/** Markdown table of every variable (default, form, meaning) for the README. */
export function configTableMarkdown(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = Object.entries(ENV_VARS).map(
    ([name, spec]) =>
      `| \`${name}\` | ${spec.default === undefined ? '(unset)' : `\`${spec.default}\``} | ${cell(spec.form)} | ${cell(spec.doc)} |`,
  );
  return ['| variable | default | form | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
