/**
 * The taskfleet CLI. API commands go through @taskfleet/client (the same retries and errors as any
 * service); `apikey`, `migrate` and `start` run the repo's own scripts and apps, so there is one
 * implementation of each.
 *
 * Exit codes: 0 ok · 1 failed (server error, task ended badly with --wait) · 2 usage · 3 not found ·
 * 4 refused input (409/413/415/422) · 5 unavailable (429/503 after retries, connection failed) ·
 * 6 unauthorized/forbidden (401/403).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, type EnqueueOptions, type Priority, TaskfleetError, type TaskState } from '@taskfleet/client';

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, refused: 4, unavailable: 5, unauthorized: 6 } as const;

const ROOT = path.resolve(import.meta.dirname, '../../..');

interface Io {
  env: Record<string, string | undefined>;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  stdin?: AsyncIterable<Buffer | string>;
}

const GLOBAL = `Global options:
  --url URL        API base URL (TASKFLEET_URL; default http://127.0.0.1:8080)
  --key KEY        API key (TASKFLEET_API_KEY)
  --json           machine-readable output on stdout
  -h, --help       help for a command`;

const HELP: Record<string, string> = {
  '': `usage: taskfleet <command> [options]

Commands:
  enqueue <queue> [payload-json | -]   submit a task (payload from the argument or stdin)
  get <queue> <id>                     one task
  tasks <queue>                        list tasks (--state, --limit, --cursor)
  cancel <queue> <id>                  cancel a waiting or running task
  retry <queue> <id>                   retry a failed, dead-lettered or cancelled task
  queues                               queues with depth by state (table)
  workers                              worker replicas and their slots
  dlq list <queue>                     dead-lettered tasks of a queue
  dlq redrive <queue>                  move them back into the queue (admin key)
  apikey create|list|revoke ...        manage API keys (DATABASE_URL)
  migrate                              apply migrations (DATABASE_URL)
  start api|worker                     run one app process (DATABASE_URL)

Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 refused input, 5 unavailable, 6 unauthorized.

${GLOBAL}`,
  enqueue: `usage: taskfleet enqueue <queue> [payload-json | -] [options]
  --priority critical|high|normal|low
  --delay SECONDS | --run-at ISO-TIME
  --max-attempts N  --timeout SECONDS
  --idempotency-key KEY   (generated when omitted; retries reuse it)
  --wait [--wait-timeout SECONDS]   wait for a final state; exit 1 unless completed

${GLOBAL}`,
  get: `usage: taskfleet get <queue> <id>\n\n${GLOBAL}`,
  tasks: `usage: taskfleet tasks <queue> [--state STATE[,STATE…]] [--limit N] [--cursor C]\n\n${GLOBAL}`,
  cancel: `usage: taskfleet cancel <queue> <id>\n\n${GLOBAL}`,
  retry: `usage: taskfleet retry <queue> <id>\n\n${GLOBAL}`,
  queues: `usage: taskfleet queues\n\n${GLOBAL}`,
  workers: `usage: taskfleet workers\n\n${GLOBAL}`,
  dlq: `usage: taskfleet dlq list <queue> [--limit N] [--cursor C]
       taskfleet dlq redrive <queue> [--limit N]

${GLOBAL}`,
  apikey: `usage: taskfleet apikey create --name NAME [--scopes submit,read,admin] [--rate-limit N] [--json]
       taskfleet apikey list [--json]
       taskfleet apikey revoke --name NAME
(talks to PostgreSQL: DATABASE_URL, or the embedded one of \`npm start\`)`,
  migrate: `usage: taskfleet migrate   (DATABASE_URL, or the embedded one of \`npm start\`)`,
  start: `usage: taskfleet start api|worker   (configured by the environment; see README "Configuration")`,
};

const OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  priority: { type: 'string' },
  delay: { type: 'string' },
  'run-at': { type: 'string' },
  'max-attempts': { type: 'string' },
  timeout: { type: 'string' },
  'idempotency-key': { type: 'string' },
  wait: { type: 'boolean', default: false },
  'wait-timeout': { type: 'string' },
  state: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
} as const;

class UsageError extends Error {}

/** Left-aligned text table (numbers right-aligned). */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[], numeric: boolean[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const numeric = cols.map((c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return [
    line(cols, numeric),
    line(
      widths.map((w) => '-'.repeat(w)),
      numeric,
    ),
    ...rows.map((r) =>
      line(
        cols.map((c) => cell(r[c])),
        numeric,
      ),
    ),
  ].join('\n');
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function exitFor(err: TaskfleetError): number {
  const s = err.status;
  if (s === 0 || s === 429 || s === 503) return EXIT.unavailable;
  if (s === 401 || s === 403) return EXIT.unauthorized;
  if (s === 404) return EXIT.notFound;
  if ([400, 409, 413, 415, 422].includes(s)) return EXIT.refused;
  return EXIT.failed;
}

/** Run a repo script or app with this Node, passing signals through; resolves to its exit code. */
function delegate(script: string, args: string[], env: Record<string, string | undefined>, flags: string[] = []): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flags, path.join(ROOT, script), ...args], { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 128 + 15 : 1));
    });
  });
}

async function readStdin(io: Io): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin ?? process.stdin) text += chunk.toString();
  return text;
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const out = (s: string) => io.stdout.write(`${s}\n`);
  const err = (s: string) => io.stderr.write(`${s}\n`);
  const [command = '', ...rest] = argv;

  // Delegated commands take their own options.
  if (command === 'apikey' || command === 'migrate' || command === 'start') {
    if (rest.includes('--help') || rest.includes('-h')) {
      out(HELP[command] as string);
      return EXIT.ok;
    }
    if (command === 'apikey') return delegate('scripts/apikey.ts', rest, io.env);
    if (command === 'migrate') return delegate('scripts/migrate.ts', rest, io.env);
    const role = rest[0];
    if (role !== 'api' && role !== 'worker') {
      err(HELP.start as string);
      return EXIT.usage;
    }
    return delegate(`apps/${role}/src/main.ts`, [], io.env, ['--max-semi-space-size=4']);
  }

  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (e) {
    err(`${(e as Error).message}\n\n${HELP[command] ?? HELP['']}`);
    return EXIT.usage;
  }
  if (!command || command === 'help' || values.help) {
    const topic = command === 'help' ? (positionals[0] ?? '') : command;
    if (!(topic in HELP)) {
      err(`unknown command ${JSON.stringify(topic)}\n\n${HELP['']}`);
      return EXIT.usage;
    }
    out(HELP[topic] as string);
    return EXIT.ok;
  }
  if (!(command in HELP)) {
    err(`unknown command ${JSON.stringify(command)}\n\n${HELP['']}`);
    return EXIT.usage;
  }

  const client = createClient({
    baseUrl: values.url ?? io.env.TASKFLEET_URL ?? 'http://127.0.0.1:8080',
    ...((values.key ?? io.env.TASKFLEET_API_KEY) ? { apiKey: values.key ?? io.env.TASKFLEET_API_KEY } : {}),
  });
  const need = (n: number, what: string) => {
    if (positionals.length < n) throw new UsageError(`missing ${what}\n\n${HELP[command]}`);
  };
  const print = (data: unknown, human: () => string) => out(values.json ? JSON.stringify(data) : human());
  const taskLine = (t: { id: string; queue: string; state: string; attempts: number; maxAttempts: number }) =>
    `${t.queue} ${t.id} ${t.state} (attempt ${t.attempts} of ${t.maxAttempts})`;

  try {
    switch (command) {
      case 'enqueue': {
        need(1, '<queue>');
        const [queue, raw] = positionals as [string, string | undefined];
        const text = raw === '-' ? await readStdin(io) : (raw ?? '{}');
        let payload: unknown;
        try {
          payload = JSON.parse(text);
        } catch {
          throw new UsageError(`the payload is not valid JSON: ${text.slice(0, 80)}`);
        }
        const options: EnqueueOptions = {
          ...(values.priority ? { priority: values.priority as Priority } : {}),
          ...(values.delay !== undefined ? { delaySeconds: int('delay', values.delay) as number } : {}),
          ...(values['run-at'] ? { runAt: values['run-at'] } : {}),
          ...(values['max-attempts'] !== undefined ? { maxAttempts: int('max-attempts', values['max-attempts']) as number } : {}),
          ...(values.timeout !== undefined ? { timeoutSeconds: int('timeout', values.timeout) as number } : {}),
          ...(values['idempotency-key'] ? { idempotencyKey: values['idempotency-key'] } : {}),
        };
        const receipt = await client.enqueueUntyped(queue, payload, options);
        if (values.wait) {
          const timeoutMs = (int('wait-timeout', values['wait-timeout']) ?? 60) * 1000;
          const task = await client.waitFor(queue, receipt.id, { timeoutMs });
          print(
            task,
            () =>
              `${taskLine(task)}${task.output !== null ? `\noutput: ${JSON.stringify(task.output)}` : ''}${task.lastError ? `\nerror: ${JSON.stringify(task.lastError)}` : ''}`,
          );
          return task.state === 'completed' ? EXIT.ok : EXIT.failed;
        }
        print(receipt, () => `accepted ${receipt.queue} ${receipt.id} ${receipt.state}\n${receipt.statusUrl}`);
        return EXIT.ok;
      }
      case 'get': {
        need(2, '<queue> <id>');
        const task = await client.get(positionals[0] as string, positionals[1] as string);
        print(task, () =>
          [
            taskLine(task),
            `priority ${task.priority}; created ${task.createdAt}; due ${task.runAt}; started ${task.startedAt ?? '-'}; finished ${task.finishedAt ?? '-'}`,
            `payload: ${JSON.stringify(task.payload)}`,
            ...(task.output !== null ? [`output: ${JSON.stringify(task.output)}`] : []),
            ...(task.lastError ? [`error: ${JSON.stringify(task.lastError)}`] : []),
          ].join('\n'),
        );
        return EXIT.ok;
      }
      case 'cancel':
      case 'retry': {
        need(2, '<queue> <id>');
        const task = await client[command](positionals[0] as string, positionals[1] as string);
        print(task, () => `${command === 'cancel' ? 'cancelled' : 'retrying'}: ${taskLine(task)}`);
        return EXIT.ok;
      }
      case 'tasks':
      case 'dlq': {
        let queue: string;
        if (command === 'dlq') {
          need(2, 'list|redrive <queue>');
          const [verb, q] = positionals as [string, string];
          queue = q;
          if (verb === 'redrive') {
            const limit = int('limit', values.limit);
            const r = await client.redrive(queue, limit ? { limit } : {});
            print(r, () => `moved ${r.moved} task(s) from ${r.deadLetterQueue} back into ${r.queue}`);
            return EXIT.ok;
          }
          if (verb !== 'list') throw new UsageError(`unknown dlq command ${JSON.stringify(verb)}\n\n${HELP.dlq}`);
        } else {
          need(1, '<queue>');
          queue = positionals[0] as string;
        }
        const state = command === 'dlq' ? 'dead_lettered' : values.state;
        const limit = int('limit', values.limit);
        const page = await client.list(queue, {
          ...(state ? { state: state.split(',') as TaskState[] } : {}),
          ...(limit ? { limit } : {}),
          ...(values.cursor ? { cursor: values.cursor } : {}),
        });
        print(page, () =>
          [
            table(
              page.tasks.map((t) => ({
                id: t.id,
                state: t.state,
                priority: t.priority,
                attempts: `${t.attempts}/${t.maxAttempts}`,
                created: t.createdAt,
                finished: t.finishedAt,
              })),
              ['id', 'state', 'priority', 'attempts', 'created', 'finished'],
            ),
            ...(page.nextCursor ? [`more: --cursor ${page.nextCursor}`] : []),
          ].join('\n'),
        );
        return EXIT.ok;
      }
      case 'queues': {
        const queues = await client.queues();
        print(queues, () =>
          table(
            queues.map((q) => ({
              queue: q.name,
              ready: q.depth.ready,
              scheduled: q.depth.scheduled,
              retrying: q.depth.retrying,
              running: q.depth.running,
              completed: q.depth.completed,
              failed: q.depth.failed,
              cancelled: q.depth.cancelled,
              'oldest ready s': q.oldestReadyAgeSeconds ?? '',
            })),
          ),
        );
        return EXIT.ok;
      }
      case 'workers': {
        const res = await client.workers();
        print(res, () =>
          [
            table(
              res.workers.map((w) => ({
                replica: w.id,
                host: w.hostname,
                pid: w.pid,
                queues: w.queues.join(','),
                busy: w.active,
                slots: w.concurrency,
              })),
            ),
            `${res.totals.replicas} replica(s), ${res.totals.active} of ${res.totals.slots} slots busy`,
          ].join('\n'),
        );
        return EXIT.ok;
      }
    }
    return EXIT.usage;
  } catch (e) {
    if (e instanceof UsageError) {
      err(e.message);
      return EXIT.usage;
    }
    if (e instanceof TaskfleetError) {
      if (values.json) out(JSON.stringify({ error: e.message, status: e.status, problem: e.problem ?? null }));
      err(
        `taskfleet ${command}: ${e.message}${e.problem?.errors ? `\n${e.problem.errors.map((f) => `  ${f.field}: ${f.message}`).join('\n')}` : ''}`,
      );
      return exitFor(e);
    }
    throw e;
  }
}
