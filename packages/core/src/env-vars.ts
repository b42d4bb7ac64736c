/**
 * The table of every environment variable the fleet reads: how each is parsed, its default, the
 * form shown in errors and its meaning (the README's configuration table is generated from it).
 * `loadConfig` (config.ts) turns it into the typed Config.
 */
import { z } from 'zod';

import { enumVar, intVar, optionalVar, postgresUrl, queueList, stringVar } from './env-var-kinds.ts';

export type { VarSpec } from './env-var-kinds.ts';

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
  DATABASE_SHARDS: optionalVar(
    z.string().min(1),
    'comma-separated id=postgres://… (ids 0–255)',
    'Several PostgreSQL primaries, each with its own migrations and pg-boss schema; a task goes to one by its shard key (group, else idempotency/dedupe key, else round-robin) through rendezvous hashing. Unset: DATABASE_URL is the only shard (id 0). Ids are stable: a task id carries its shard id.',
  ),
  DATABASE_READ_URLS: optionalVar(
    z.string().min(1),
    'comma-separated postgres:// URLs, or id=postgres://… per shard',
    'Streaming replicas for reads that tolerate lag (task status, listings, queue info, dashboard). Bare URLs belong to the only shard; with DATABASE_SHARDS write id=URL (several per shard allowed).',
  ),
  DATABASE_REPLICA_MAX_LAG_SECONDS: intVar(
    5,
    0,
    3600,
    'A replica whose replay lags its primary by more than this (or that does not answer) is skipped: its reads go to the primary until it catches up.',
  ),
  DATABASE_REPLICA_CHECK_INTERVAL_MS: intVar(1000, 100, 60_000, "How often each replica's lag and health are probed."),
  DATABASE_CONNECT_TIMEOUT_MS: intVar(5000, 100, 120_000, 'How long to wait for a new database connection before failing.'),
  DATABASE_STATEMENT_TIMEOUT_MS: intVar(30_000, 100, 3_600_000, 'Server-side `statement_timeout` for every pooled connection.'),
  API_HOST: stringVar('0.0.0.0', 'a host name or IP address', 'Interface the API listens on.'),
  API_PORT: intVar(8080, 1, 65535, 'Port the API listens on.'),
  API_DB_POOL_SIZE: intVar(
    10,
    2,
    500,
    'Maximum PostgreSQL connections per API replica and shard (must exceed API_GROUP_COMMIT_CONCURRENCY).',
  ),
  API_AUTH: enumVar(
    ['required', 'disabled'] as const,
    'required',
    'API-key authentication. `disabled` is for local development only: `npm start` sets it when it runs the embedded database, and it is refused when NODE_ENV=production.',
  ),
  API_KEY_CACHE_SECONDS: intVar(
    10,
    0,
    3600,
    'How long a verified API key is cached per replica; a revoked key stops working within this time.',
  ),
  API_BODY_LIMIT_BYTES: intVar(1_048_576, 1024, 64 * 1_048_576, 'Largest request body for single-task requests (larger: 413).'),
  API_BATCH_BODY_LIMIT_BYTES: intVar(16 * 1_048_576, 1024, 256 * 1_048_576, 'Largest request body for batch requests (larger: 413).'),
  API_BATCH_MAX_TASKS: intVar(1000, 1, 10_000, 'Most tasks in one batch request.'),
  API_MAX_CONCURRENT_REQUESTS: intVar(
    2000,
    1,
    100_000,
    'Enqueue requests one replica handles at once; beyond it new ones get 503 + Retry-After at once (MAX_CONCURRENT_REQUESTS).',
  ),
  API_REQUEST_QUEUE_SIZE: intVar(
    20_000,
    1,
    1_000_000,
    'Tasks waiting for the next group commit; beyond it new ones get 503 + Retry-After at once (REQUEST_QUEUE_SIZE).',
  ),
  API_REQUEST_TIMEOUT_MS: intVar(
    10_000,
    100,
    600_000,
    'A task still waiting for its group commit after this long is dropped from the buffer (never written) and answered 503 (REQUEST_TIMEOUT). Also the HTTP server request timeout.',
  ),
  API_SHUTDOWN_DELAY_MS: intVar(
    2_000,
    0,
    120_000,
    'On SIGTERM, how long the API keeps serving (readyz 503, every answer `Connection: close`) before it closes its port, so balancers stop routing to it and clients drop their keep-alive connections first.',
  ),
  API_GROUP_COMMIT_MAX_ROWS: intVar(1000, 1, 10_000, 'Most rows in one group-commit insert.'),
  API_GROUP_COMMIT_WINDOW_MS: intVar(
    0,
    0,
    100,
    'Extra time a group commit waits to collect rows (0: only what arrived while the previous commit ran).',
  ),
  API_GROUP_COMMIT_CONCURRENCY: intVar(4, 1, 64, 'Group-commit inserts in flight at once per replica.'),
  API_RATE_LIMIT_PER_SECOND: intVar(
    1000,
    0,
    1_000_000,
    'Requests per second per API key per replica (token bucket; 0 = unlimited). A key row can override it.',
  ),
  API_RATE_LIMIT_BURST: intVar(2000, 1, 10_000_000, 'Token-bucket size: requests a key may send at once above its rate.'),
  API_SHED_READY_DEPTH: intVar(
    0,
    0,
    1_000_000_000,
    'Per-queue high-water mark: when a queue has more ready tasks than this, new tasks for it get 503 + Retry-After (0 = off).',
  ),
  QUEUE_STATS_INTERVAL_SECONDS: intVar(
    5,
    1,
    300,
    'How often the fleet recomputes the queue-depth snapshot behind the queue gauges (one query per interval for the whole fleet).',
  ),
  SCHEDULER_INTERVAL_MS: intVar(
    2000,
    0,
    60_000,
    'How often each API and worker replica fires the due recurring schedules (± 25 % jitter); a slot runs at most this late. 0 = this replica runs no scheduler.',
  ),
  API_LONG_POLL_MAX_WAITERS: intVar(
    1000,
    0,
    100_000,
    'Long-poll requests (`GET …/tasks/{id}?waitSeconds=`) one API replica holds at once; beyond it new ones get 503 + Retry-After (0 = long-poll off: every one gets 503).',
  ),
  API_PUBLIC_URL: optionalVar(z.url(), 'an http(s) URL', 'Base URL put in status links. Unset: taken from the request.'),
  WORKER_HOST: stringVar('0.0.0.0', 'a host name or IP address', 'Interface the worker health/metrics server listens on.'),
  WORKER_PORT: intVar(9464, 1, 65535, 'Port of the worker health/metrics server (`npm start` gives replica i the port WORKER_PORT+i).'),
  WORKER_ID: optionalVar(
    z.string().regex(/^[A-Za-z0-9._-]{1,40}$/),
    'letters, digits, . _ - (at most 40)',
    'Name of this worker replica in logs, metrics and `application_name`. Unset: `<hostname>-<pid>`.',
  ),
  WORKER_CONCURRENCY: intVar(100, 1, 10_000, 'Job slots per worker replica (jobs running at once).'),
  WORKER_QUEUE_CONCURRENCY: optionalVar(
    z
      .string()
      .regex(/^[a-z0-9._-]+=\d+(\s*,\s*[a-z0-9._-]+=\d+)*$/)
      .transform(
        (v) =>
          Object.fromEntries(
            v
              .split(',')
              .map((p) => p.trim().split('='))
              .map(([q, n]) => [q as string, Number(n)]),
          ) as Record<string, number>,
      ),
    'comma-separated queue=limit pairs, e.g. http.request=50,noop=200',
    'Per-queue limits on slots, within WORKER_CONCURRENCY. Unset: any queue may use every slot.',
  ),
  WORKER_CRITICAL_RESERVED_SLOTS: intVar(
    -1,
    -1,
    10_000,
    'Slots only `critical` tasks may use, so a backlog of lower work cannot delay them (-1: 10% of WORKER_CONCURRENCY, at least 1; 0: none).',
  ),
  WORKER_FETCH_BATCH: intVar(200, 1, 1000, 'Most jobs one fetch claims (never more than free slots).'),
  WORKER_POLL_INTERVAL_MS: intVar(
    1000,
    50,
    60_000,
    'How often an idle queue is polled as a backstop to LISTEN/NOTIFY (and for scheduled tasks coming due).',
  ),
  WORKER_SETTLE_BATCH: intVar(200, 1, 5000, 'Most completions settled in one statement.'),
  WORKER_ABANDON_GRACE_MS: intVar(
    5000,
    0,
    600_000,
    "After a job's deadline aborts its signal, how long its handler may take to stop before the slot is released and the job failed into retry.",
  ),
  WORKER_PRESENCE_INTERVAL_MS: intVar(
    1000,
    100,
    60_000,
    'How often a worker replica beats (its presence row): others declare it dead after WORKER_DEAD_AFTER_SECONDS without one.',
  ),
  WORKER_DEAD_AFTER_SECONDS: intVar(
    5,
    1,
    3600,
    'A worker replica that has not beaten for this long is dead: a live replica gives its running jobs back to their queues at once (the attempt counts). At least 3 beats.',
  ),
  WORKER_MAINTENANCE_INTERVAL_SECONDS: intVar(
    30,
    1,
    3600,
    'How often pg-boss maintenance runs (expiring jobs of dead workers: missed heartbeats, past expiry). Replicas share the work.',
  ),
  HTTP_REQUEST_ALLOWED_HOSTS: optionalVar(
    z
      .string()
      .regex(/^[A-Za-z0-9.:*/_-]+(\s*,\s*[A-Za-z0-9.:*/_-]+)*$/)
      .transform((v) => v.split(',').map((s) => s.trim().toLowerCase())),
    'comma-separated host names, IPs or CIDRs',
    'http.request targets allowed even though they resolve to loopback, private, link-local or metadata addresses (refused by default: SSRF).',
  ),
  HTTP_REQUEST_SIGNING_SECRET: optionalVar(
    z.string().min(16),
    'a secret of at least 16 characters',
    'When set, http.request deliveries carry `X-Taskfleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` so receivers can verify the sender.',
  ),
  HTTP_REQUEST_HOST_CONCURRENCY: intVar(
    0,
    0,
    100_000,
    'http.request requests in flight to one host (host:port) across the whole fleet, whatever queue they come from (0 = unlimited). Give every worker replica the same value.',
  ),
  HTTP_REQUEST_HOST_RATE_PER_SECOND: intVar(
    0,
    0,
    10_000,
    'http.request requests started per second to one host across the whole fleet (0 = unlimited). Give every worker replica the same value.',
  ),
  HTTP_REQUEST_MAX_RESPONSE_BYTES: intVar(4096, 0, 1_048_576, 'How much of a delivery response is kept as the task output.'),
  WORKER_DB_POOL_SIZE: intVar(
    10,
    2,
    500,
    'Maximum PostgreSQL connections per worker replica and shard (with DATABASE_SHARDS each shard gets a pool of this size, plus one LISTEN connection).',
  ),
  TASK_MODULES: optionalVar(
    z
      .string()
      .regex(/^[^,\s]+(\s*,\s*[^,\s]+)*$/)
      .transform((v) => v.split(',').map((s) => s.trim())),
    'comma-separated module paths or package names',
    'Your own task types: modules exporting `tasks: [{ definition, handle }]`, loaded by migrate, API and worker alike (set it the same on all three).',
  ),
  WORKER_QUEUES: optionalVar(queueList, 'comma-separated queue names', 'Queues this replica drains. Unset: every registered task type.'),
  WORKER_SHUTDOWN_GRACE_SECONDS: intVar(30, 0, 3600, 'On SIGTERM, how long running jobs may finish before they are aborted into retry.'),
  WORKER_REPLICAS: intVar(2, 0, 64, 'How many worker processes `npm start` runs on this machine.'),
  EMBEDDED_PG_DIR: stringVar(
    '.data/postgres',
    'a directory path',
    'Data directory of the embedded PostgreSQL used when DATABASE_URL is unset.',
  ),
  EMBEDDED_PG_PORT: intVar(54329, 1, 65535, 'Port of the embedded PostgreSQL (listens on 127.0.0.1 only).'),
  EMBEDDED_PG_SHARDS: intVar(
    1,
    1,
    8,
    '`npm start` without DATABASE_URL: how many embedded PostgreSQL primaries (shards) to run, on EMBEDDED_PG_PORT, +1, …',
  ),
  EMBEDDED_PG_READ_REPLICAS: intVar(
    0,
    0,
    3,
    '`npm start` without DATABASE_URL: streaming replicas per embedded primary, each made from a base backup of its primary (ports after the primaries).',
  ),
} as const;

export type EnvVarName = keyof typeof ENV_VARS;
type Vars = typeof ENV_VARS;
export type Parsed = { [K in EnvVarName]: z.output<Vars[K]['schema']> | (Vars[K]['optional'] extends true ? undefined : never) };
