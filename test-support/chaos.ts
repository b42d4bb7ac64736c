/**
 * The reliability suite's tools: a fleet of real API and worker processes loading the `test.ledger`
 * task module, a load generator that behaves like a careful client (idempotency key per task, retries
 * 503/429 after Retry-After and connection failures with the same key, fails over between API
 * replicas), and the ledger audit every scenario ends with.
 */
import { LEDGER_TABLE_SQL } from './tasks/ledger.ts';
import { type AppProcess, spawnApp, stopProcess, waitReady } from './processes.ts';

export const LEDGER_MODULE = 'test-support/tasks/ledger.ts';
export const LEDGER_QUEUE = 'test.ledger';
/** How long after SIGTERM the simulated balancer stops routing to a draining API replica. */
const BALANCER_DEREGISTER_MS = 1_000;

type Query = <T = any>(text: string, values?: unknown[]) => Promise<{ rows: T[] }>;

export async function createLedgerTable(query: Query): Promise<void> {
  await query(LEDGER_TABLE_SQL);
}

/** API and worker processes on one database; the test is their supervisor. */
/**
 * What every load-under-faults test runs its apps with. The load is one anonymous client sending
 * well over API_RATE_LIMIT_PER_SECOND (1,000/s per replica) whenever one replica carries it all, so
 * the per-key limiter is off here: its 429s are tested in apps/api/test/auth.test.ts, not the faults.
 */
export const LOAD_TEST_ENV: Record<string, string> = { TASK_MODULES: LEDGER_MODULE, LOG_LEVEL: 'warn', API_RATE_LIMIT_PER_SECOND: '0' };

export class Fleet {
  readonly apis: AppProcess[] = [];
  readonly workers: AppProcess[] = [];
  /** pid → when it was SIGKILLed (ms since epoch). */
  readonly killed = new Map<number, number>();
  readonly exits: { role: string; pid: number; code: number | null; signal: string | null; expected: boolean }[] = [];
  private readonly expected = new Set<number>();
  /** API replicas the (simulated) balancer no longer routes to. */
  private readonly deregistered = new Set<number>();
  private env: Record<string, string>;

  constructor(env: Record<string, string>) {
    this.env = env;
  }

  /** The environment of processes started from now on (e.g. a new shard map). */
  setEnv(env: Record<string, string>): void {
    this.env = env;
  }

  /** SIGTERM a worker and wait for it (expected: not restarted, not counted as a crash). */
  async stopWorker(worker: AppProcess): Promise<void> {
    this.expected.add(worker.pid);
    await stopProcess(worker, 'SIGTERM', 15_000);
    this.workers.splice(this.workers.indexOf(worker), 1);
  }

  /** SIGTERM an API replica and wait for it. */
  async stopApi(api: AppProcess): Promise<void> {
    this.expected.add(api.pid);
    await stopProcess(api, 'SIGTERM', 15_000);
    this.apis.splice(this.apis.indexOf(api), 1);
  }

  /** Start a replacement when a worker exits on its own (as `npm start` or an orchestrator would). */
  restartCrashedWorkers = false;
  /** Logs of processes that exited on their own. */
  readonly crashOutput: string[] = [];
  private stopping = false;

  private async start(role: 'api' | 'worker', env: Record<string, string>): Promise<AppProcess> {
    const app = await spawnApp(role, { ...LOAD_TEST_ENV, ...this.env, ...env });
    void app.exited.then((code) => {
      const expected = this.expected.has(app.pid);
      this.exits.push({ role, pid: app.pid, code, signal: app.signal(), expected });
      if (expected || this.stopping) return;
      this.crashOutput.push(app.output());
      const index = this.workers.indexOf(app);
      if (role === 'worker' && this.restartCrashedWorkers && index >= 0) {
        void this.start('worker', env).then((replacement) => {
          if (this.stopping) void stopProcess(replacement);
          else this.workers[index] = replacement;
        });
      }
    });
    await waitReady(app);
    return app;
  }

  async addApi(env: Record<string, string> = {}): Promise<AppProcess> {
    const app = await this.start('api', { API_AUTH: 'disabled', ...env });
    this.apis.push(app);
    return app;
  }

  async addWorker(env: Record<string, string> = {}): Promise<AppProcess> {
    const app = await this.start('worker', env);
    this.workers.push(app);
    return app;
  }

  /** Submit one `test.ledger` task to the first API replica; returns its id. */
  async submit(payload: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<string> {
    const res = await fetch(`${this.apiUrls()[0]}/v1/queues/test.ledger/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload, ...options }),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 202 || !body.id) throw new Error(`submit answered ${res.status}: ${JSON.stringify(body)}`);
    return body.id;
  }

  /** The API replicas a balancer routes to: all but those it has deregistered (see rollApi). */
  apiUrls(): string[] {
    return this.apis.filter((a) => !this.deregistered.has(a.pid)).map((a) => a.url);
  }

  /** SIGKILL a worker (recorded), then start a replacement in its place. */
  async killAndReplaceWorker(index: number, env: Record<string, string> = {}): Promise<{ killed: number; replacement: AppProcess }> {
    const victim = this.workers[index];
    if (!victim) throw new Error(`no worker ${index}`);
    this.expected.add(victim.pid);
    victim.proc.kill('SIGKILL');
    await victim.exited;
    // Recorded once it is gone, not before the signal: a statement the worker sent just before the
    // kill still runs in PostgreSQL, and its clock_timestamp() (the ledger's) can trail the signal by
    // a millisecond (seen once: an execution stamped 1 ms after a kill time taken before the signal).
    this.killed.set(victim.pid, Date.now());
    const replacement = await this.start('worker', env);
    this.workers[index] = replacement;
    return { killed: victim.pid, replacement };
  }

  /**
   * SIGTERM one API replica and wait for its exit code, then start a replacement in its place.
   * Clients keep being routed to it for the first second of its drain — it answers with readyz red
   * and `Connection: close` — and then the balancer deregisters it (a health check seeing readyz
   * red), a second before its port closes (API_SHUTDOWN_DELAY_MS, 2 s). Routing to it until the
   * port closes, as this harness once did, fails now and then whatever the server does: a client
   * whose connection is still in the kernel's accept queue when the listener closes gets a reset
   * (seen once in a CI run: 1 reset in ~4,000 requests).
   */
  async rollApi(index: number): Promise<{ code: number | null }> {
    const old = this.apis[index];
    if (!old) throw new Error(`no api ${index}`);
    this.expected.add(old.pid);
    const deregister = setTimeout(() => this.deregistered.add(old.pid), BALANCER_DEREGISTER_MS);
    const code = await stopProcess(old, 'SIGTERM');
    clearTimeout(deregister);
    this.deregistered.add(old.pid); // gone: not routed to while its replacement starts
    this.apis[index] = await this.start('api', { API_AUTH: 'disabled' });
    this.deregistered.delete(old.pid);
    return { code };
  }

  /** Processes that exited without the test asking them to. */
  unexpectedExits() {
    return this.exits.filter((e) => !e.expected);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...this.apis, ...this.workers];
    for (const p of all) this.expected.add(p.pid);
    await Promise.all(all.map((p) => stopProcess(p, 'SIGTERM', 15_000)));
  }
}

export interface LoadReport {
  /** Task id → key, for every task answered 2xx. */
  acked: Map<string, string>;
  /** Answers by HTTP status (0 = connection failed). */
  statuses: Record<number, number>;
  /** 503/429 answers that carried Retry-After. */
  retryAfter: number;
  /** Connections refused (nothing sent): the client moved to another replica. */
  refused: number;
  /** Requests that failed after sending (reset, timeout): retried with the same idempotency key. */
  resets: number;
  /** Answers a careful client would treat as failures: 5xx other than 503, 4xx, malformed 2xx. */
  failures: string[];
  /** Slowest answer (ms). */
  maxLatencyMs: number;
  /** Latencies of answers by wall-clock time, for checking a window. */
  samples: { at: number; ms: number; status: number }[];
}

export interface LoadOptions {
  urls: () => string[];
  concurrency: number;
  /** Pause between one client's submissions (ms). */
  pauseMs?: number;
  payload?: (key: string) => Record<string, unknown>;
  /** Abort a request after this long (a hang is a failure). */
  requestTimeoutMs?: number;
}

/** Submit `test.ledger` tasks until stopped; every key is retried until it is acknowledged. */
export function startLoad(options: LoadOptions): { stop(): Promise<LoadReport>; report: LoadReport } {
  const report: LoadReport = {
    acked: new Map(),
    statuses: {},
    retryAfter: 0,
    refused: 0,
    resets: 0,
    failures: [],
    maxLatencyMs: 0,
    samples: [],
  };
  let running = true;
  let seq = 0;
  let rr = 0;
  const timeout = options.requestTimeoutMs ?? 15_000;
  const payload = options.payload ?? ((key: string) => ({ key, sleepMs: Math.floor(Math.random() * 20) }));

  async function submit(key: string): Promise<void> {
    // Once a key is sent it is retried until acknowledged, even after stop(): a client does not
    // abandon a task it may already have handed over.
    for (let tries = 0; ; tries++) {
      const urls = options.urls();
      const url = urls[rr++ % Math.max(1, urls.length)];
      if (!url) {
        await sleep(50);
        continue;
      }
      const started = Date.now();
      let status = 0;
      try {
        const res = await fetch(`${url}/v1/queues/test.ledger/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ payload: payload(key) }),
          signal: AbortSignal.timeout(timeout),
        });
        status = res.status;
        const ms = Date.now() - started;
        report.maxLatencyMs = Math.max(report.maxLatencyMs, ms);
        report.samples.push({ at: started, ms, status });
        report.statuses[status] = (report.statuses[status] ?? 0) + 1;
        const body = (await res.json().catch(() => null)) as { id?: string } | null;
        if (status === 200 || status === 202) {
          if (!body?.id) report.failures.push(`${status} without an id`);
          else report.acked.set(body.id, key);
          return;
        }
        if (status === 503 || status === 429) {
          const retryAfter = res.headers.get('retry-after');
          if (retryAfter) report.retryAfter++;
          else report.failures.push(`${status} without Retry-After`);
          await sleep(Math.min(1_000, Number(retryAfter ?? 1) * 1_000) * (0.5 + Math.random() / 2));
          continue;
        }
        report.failures.push(`${status}: ${JSON.stringify(body).slice(0, 300)}`);
        return;
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (code === 'ECONNREFUSED') report.refused++;
        else report.resets++;
        report.statuses[0] = (report.statuses[0] ?? 0) + 1;
        report.samples.push({ at: started, ms: Date.now() - started, status: 0 });
        if (tries > 200) {
          report.failures.push(`gave up on ${key}: ${(err as Error).message}`);
          return;
        }
        await sleep(50);
      }
    }
  }

  const loops = Array.from({ length: options.concurrency }, async (_, client) => {
    while (running) {
      await submit(`c${client}-${seq++}`);
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  });
  return {
    report,
    async stop() {
      running = false;
      await Promise.all(loops);
      return report;
    },
  };
}

export interface LedgerAudit {
  acked: number;
  completed: number;
  deadLettered: number;
  /** Acknowledged tasks neither completed nor dead-lettered (must be empty once drained). */
  unfinished: { id: string; state: string | null }[];
  /** Acknowledged ids with no row at all (lost). */
  lost: string[];
  executions: number;
  /** Tasks that ran more than once, with the pids and times of their executions. */
  reruns: { id: string; runs: { pid: number; attempt: number; at: Date }[] }[];
}

/** Where every acknowledged task is, and how often each ran. */
export async function auditLedger(query: Query, ids: string[]): Promise<LedgerAudit> {
  const { rows: jobs } = await query<{ id: string; state: string; dead: boolean }>(
    `SELECT j.id, j.state::text AS state,
            EXISTS (SELECT 1 FROM pgboss.job d WHERE d.name = $2 AND d.source_id = j.id) AS dead
       FROM pgboss.job j WHERE j.name = $3 AND j.id = ANY($1::uuid[])`,
    [ids, `${LEDGER_QUEUE}.dead`, LEDGER_QUEUE],
  );
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const { rows: runs } = await query<{ task_id: string; pid: number; attempt: number; at: Date }>(
    'SELECT task_id, pid, attempt, at FROM test_ledger WHERE task_id = ANY($1::uuid[]) ORDER BY seq',
    [ids],
  );
  const runsById = new Map<string, { pid: number; attempt: number; at: Date }[]>();
  for (const r of runs) {
    const list = runsById.get(r.task_id) ?? [];
    list.push({ pid: r.pid, attempt: r.attempt, at: r.at });
    runsById.set(r.task_id, list);
  }
  const audit: LedgerAudit = {
    acked: ids.length,
    completed: 0,
    deadLettered: 0,
    unfinished: [],
    lost: [],
    executions: runs.length,
    reruns: [],
  };
  for (const id of ids) {
    const job = byId.get(id);
    if (!job) audit.lost.push(id);
    else if (job.state === 'completed') audit.completed++;
    else if (job.state === 'failed' && job.dead) audit.deadLettered++;
    else audit.unfinished.push({ id, state: job.state });
    const list = runsById.get(id) ?? [];
    if (list.length > 1) audit.reruns.push({ id, runs: list });
  }
  return audit;
}

/** Poll until every acknowledged task is completed or dead-lettered. */
export async function drained(query: Query, ids: string[], timeoutMs: number): Promise<LedgerAudit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const audit = await auditLedger(query, ids);
    if ((audit.unfinished.length === 0 && audit.lost.length === 0) || Date.now() > deadline) return audit;
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
