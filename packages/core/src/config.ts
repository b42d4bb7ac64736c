/**
 * Configuration is a pure function of the environment: `loadConfig(env)` reads every variable the
 * fleet uses, applies typed defaults from one table, and fails fast naming each bad variable and
 * the form it expects. Nothing falls back silently on a bad value.
 */
import { ENV_VARS, type EnvVarName, type Parsed, type VarSpec } from './env-vars.ts';
import { parseShardMap, type ShardSpec } from './topology/shard-map.ts';

export { ENV_VARS, type EnvVarName } from './env-vars.ts';

/** The typed configuration every process builds once at start. */
export interface Config {
  env: 'development' | 'production' | 'test';
  log: { level: Parsed['LOG_LEVEL']; format: Parsed['LOG_FORMAT'] };
  database: {
    /** The home shard's primary (DATABASE_URL, else the lowest-id shard of DATABASE_SHARDS). */
    url: string | undefined;
    /** Every primary with its replicas; empty when no database is configured. */
    shards: ShardSpec[];
    replicas: { maxLagSeconds: number; checkIntervalMs: number };
    connectTimeoutMs: number;
    statementTimeoutMs: number;
  };
  api: {
    host: string;
    port: number;
    poolSize: number;
    auth: 'required' | 'disabled';
    keyCacheSeconds: number;
    bodyLimitBytes: number;
    batchBodyLimitBytes: number;
    batchMaxTasks: number;
    maxConcurrentRequests: number;
    requestQueueSize: number;
    requestTimeoutMs: number;
    shutdownDelayMs: number;
    groupCommit: { maxRows: number; windowMs: number; concurrency: number };
    rateLimit: { perSecond: number; burst: number };
    shedReadyDepth: number;
    publicUrl: string | undefined;
    /** Long-poll requests (`waitSeconds`) one replica holds at once; beyond: 503 + Retry-After. */
    longPollMaxWaiters: number;
  };
  /** Modules with the deployment's own task types (TASK_MODULES). */
  taskModules: string[];
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
    /** Per-queue slot limits; missing queues are limited only by `concurrency`. */
    queueConcurrency: Record<string, number>;
    /** Slots only critical tasks may use (resolved from -1 to the 10% default). */
    criticalReservedSlots: number;
    fetchBatch: number;
    pollIntervalMs: number;
    settleBatch: number;
    abandonGraceMs: number;
    maintenanceIntervalSeconds: number;
    /** Presence beat of this replica (ms). */
    presenceIntervalMs: number;
    /** Beats missed this long: the replica is dead and its running jobs are given back. */
    deadAfterSeconds: number;
  };
  httpRequest: {
    allowedHosts: string[];
    signingSecret: string | undefined;
    maxResponseBytes: number;
    /** Fleet-wide per-host limits; null: unlimited. */
    host: { concurrency: number | null; ratePerSecond: number | null };
  };
  embedded: { dataDir: string; port: number; shards: number; readReplicas: number };
  queueStatsIntervalSeconds: number;
  /** Mean time between scheduler ticks (SCHEDULER_INTERVAL_MS); 0 = no scheduler on this replica. */
  schedulerIntervalMs: number;
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
/** Every variable parsed by its schema (unset: its default); the problems name each bad one. */
function parseVars(env: Record<string, string | undefined>): { values: Parsed; problems: string[] } {
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
      const shown = /URL|PASSWORD|SECRET|TOKEN|_KEY$/.test(name) ? '<redacted>' : JSON.stringify(raw);
      problems.push(`${name}=${shown} is invalid: expected ${spec.form}`);
    }
  }
  return { values: values as Parsed, problems };
}

/** Rules between variables, checked once each is valid on its own. */
function crossFieldProblems(v: Parsed): string[] {
  const problems: string[] = [];
  if (v.API_AUTH === 'disabled' && v.NODE_ENV === 'production') {
    problems.push(
      'API_AUTH="disabled" is refused with NODE_ENV=production: expected required (create keys with `npm run apikey -- create`)',
    );
  }
  if (v.API_DB_POOL_SIZE <= v.API_GROUP_COMMIT_CONCURRENCY) {
    problems.push(
      `API_DB_POOL_SIZE=${v.API_DB_POOL_SIZE} is too small: expected more than API_GROUP_COMMIT_CONCURRENCY=${v.API_GROUP_COMMIT_CONCURRENCY} (group commits plus reads)`,
    );
  }
  if (v.WORKER_DEAD_AFTER_SECONDS * 1000 < 3 * v.WORKER_PRESENCE_INTERVAL_MS) {
    problems.push(
      `WORKER_DEAD_AFTER_SECONDS=${v.WORKER_DEAD_AFTER_SECONDS} is too short: expected at least 3 beats of WORKER_PRESENCE_INTERVAL_MS=${v.WORKER_PRESENCE_INTERVAL_MS}`,
    );
  }
  problems.push(...parseShardMap(v).problems);
  return problems;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const { values: v, problems } = parseVars(env);
  if (problems.length === 0) problems.push(...crossFieldProblems(v));
  if (problems.length > 0) throw new ConfigError(problems);
  return configOf(v);
}

/** The typed configuration the apps read, from the parsed variables. */
function configOf(v: Parsed): Config {
  const { shards } = parseShardMap(v);
  return {
    env: v.NODE_ENV,
    log: { level: v.LOG_LEVEL, format: v.LOG_FORMAT },
    database: {
      url: v.DATABASE_SHARDS ? shards[0]?.url : v.DATABASE_URL,
      shards,
      replicas: { maxLagSeconds: v.DATABASE_REPLICA_MAX_LAG_SECONDS, checkIntervalMs: v.DATABASE_REPLICA_CHECK_INTERVAL_MS },
      connectTimeoutMs: v.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: v.DATABASE_STATEMENT_TIMEOUT_MS,
    },
    api: {
      host: v.API_HOST,
      port: v.API_PORT,
      poolSize: v.API_DB_POOL_SIZE,
      auth: v.API_AUTH,
      keyCacheSeconds: v.API_KEY_CACHE_SECONDS,
      bodyLimitBytes: v.API_BODY_LIMIT_BYTES,
      batchBodyLimitBytes: v.API_BATCH_BODY_LIMIT_BYTES,
      batchMaxTasks: v.API_BATCH_MAX_TASKS,
      maxConcurrentRequests: v.API_MAX_CONCURRENT_REQUESTS,
      requestQueueSize: v.API_REQUEST_QUEUE_SIZE,
      requestTimeoutMs: v.API_REQUEST_TIMEOUT_MS,
      shutdownDelayMs: v.API_SHUTDOWN_DELAY_MS,
      groupCommit: {
        maxRows: v.API_GROUP_COMMIT_MAX_ROWS,
        windowMs: v.API_GROUP_COMMIT_WINDOW_MS,
        concurrency: v.API_GROUP_COMMIT_CONCURRENCY,
      },
      rateLimit: { perSecond: v.API_RATE_LIMIT_PER_SECOND, burst: v.API_RATE_LIMIT_BURST },
      shedReadyDepth: v.API_SHED_READY_DEPTH,
      publicUrl: v.API_PUBLIC_URL,
      longPollMaxWaiters: v.API_LONG_POLL_MAX_WAITERS,
    },
    taskModules: v.TASK_MODULES ?? [],
    worker: {
      id: v.WORKER_ID,
      host: v.WORKER_HOST,
      port: v.WORKER_PORT,
      concurrency: v.WORKER_CONCURRENCY,
      poolSize: v.WORKER_DB_POOL_SIZE,
      queues: v.WORKER_QUEUES ?? null,
      shutdownGraceSeconds: v.WORKER_SHUTDOWN_GRACE_SECONDS,
      replicas: v.WORKER_REPLICAS,
      queueConcurrency: v.WORKER_QUEUE_CONCURRENCY ?? {},
      criticalReservedSlots:
        v.WORKER_CRITICAL_RESERVED_SLOTS >= 0
          ? Math.min(v.WORKER_CRITICAL_RESERVED_SLOTS, v.WORKER_CONCURRENCY - 1)
          : Math.min(v.WORKER_CONCURRENCY - 1, Math.max(1, Math.floor(v.WORKER_CONCURRENCY / 10))),
      fetchBatch: v.WORKER_FETCH_BATCH,
      pollIntervalMs: v.WORKER_POLL_INTERVAL_MS,
      settleBatch: v.WORKER_SETTLE_BATCH,
      abandonGraceMs: v.WORKER_ABANDON_GRACE_MS,
      maintenanceIntervalSeconds: v.WORKER_MAINTENANCE_INTERVAL_SECONDS,
      presenceIntervalMs: v.WORKER_PRESENCE_INTERVAL_MS,
      deadAfterSeconds: v.WORKER_DEAD_AFTER_SECONDS,
    },
    httpRequest: {
      allowedHosts: v.HTTP_REQUEST_ALLOWED_HOSTS ?? [],
      signingSecret: v.HTTP_REQUEST_SIGNING_SECRET,
      maxResponseBytes: v.HTTP_REQUEST_MAX_RESPONSE_BYTES,
      host: {
        concurrency: v.HTTP_REQUEST_HOST_CONCURRENCY || null,
        ratePerSecond: v.HTTP_REQUEST_HOST_RATE_PER_SECOND || null,
      },
    },
    embedded: {
      dataDir: v.EMBEDDED_PG_DIR,
      port: v.EMBEDDED_PG_PORT,
      shards: v.EMBEDDED_PG_SHARDS,
      readReplicas: v.EMBEDDED_PG_READ_REPLICAS,
    },
    queueStatsIntervalSeconds: v.QUEUE_STATS_INTERVAL_SECONDS,
    schedulerIntervalMs: v.SCHEDULER_INTERVAL_MS,
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
