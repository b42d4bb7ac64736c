/**
 * The taskfleet CLI: a thin dispatcher over the command modules in ./commands (each holds its
 * options, help text and run function). API commands go through @taskfleet/client (the same retries
 * and errors as any service); `apikey`, `migrate` and `start` run the repo's own scripts and apps, so
 * there is one implementation of each. Exit codes: see exit-codes.ts.
 */
import { parseArgs } from 'node:util';
import { createClient, TaskfleetError } from '@taskfleet/client';
import type { ApiArgs, ApiCommand, ApiContext, Context } from './command.ts';
import { ALL_OPTIONS, commandNamed, TOP_HELP } from './commands/index.ts';
import { EXIT, exitFor } from './exit-codes.ts';
import type { Io } from './io.ts';
import { UsageError } from './options.ts';

export { EXIT } from './exit-codes.ts';
export type { Io } from './io.ts';
export { table } from './output.ts';

export async function runCli(argv: string[], io: Io): Promise<number> {
  const ctx: Context = { io, out: (s) => io.stdout.write(`${s}\n`), err: (s) => io.stderr.write(`${s}\n`) };
  const [first = '', ...after] = argv;
  // `taskfleet --help`, `taskfleet -h` and `taskfleet help [command]` all print help and exit 0.
  const topHelp = first === '--help' || first === '-h';
  const name = topHelp ? 'help' : first;
  const rest = topHelp ? after.filter((a) => a !== '--help' && a !== '-h') : after;
  const command = commandNamed(name);

  // Delegated commands take their own options.
  if (command?.kind === 'delegated') {
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.out(command.help);
      return EXIT.ok;
    }
    return command.run(rest, ctx);
  }

  let parsed: ReturnType<typeof parseArgs<{ options: typeof ALL_OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: rest, options: ALL_OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    ctx.err(`${(e as Error).message}\n\n${command?.help ?? TOP_HELP}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (!name || name === 'help' || values.help) return help(name === 'help' ? (positionals[0] ?? '') : name, ctx);
  if (!command) return unknown(name, ctx);
  return runApi(command, { positionals, values }, ctx);
}

function help(topic: string, ctx: Context): number {
  if (!topic) {
    ctx.out(TOP_HELP);
    return EXIT.ok;
  }
  const command = commandNamed(topic);
  if (!command) return unknown(topic, ctx);
  ctx.out(command.help);
  return EXIT.ok;
}

function unknown(name: string, ctx: Context): number {
  ctx.err(`unknown command ${JSON.stringify(name)}\n\n${TOP_HELP}`);
  return EXIT.usage;
}

async function runApi(command: ApiCommand, args: ApiArgs<typeof ALL_OPTIONS>, ctx: Context): Promise<number> {
  const { url, key, json } = args.values;
  const apiKey = key ?? ctx.io.env.TASKFLEET_API_KEY;
  const api: ApiContext = {
    ...ctx,
    client: createClient({ baseUrl: url ?? ctx.io.env.TASKFLEET_URL ?? 'http://127.0.0.1:8080', ...(apiKey ? { apiKey } : {}) }),
    print: (data, human) => ctx.out(json ? JSON.stringify(data) : human()),
    need: (n, what) => {
      if (args.positionals.length < n) throw new UsageError(`missing ${what}\n\n${command.help}`);
    },
  };
  try {
    return await command.run(args, api);
  } catch (e) {
    if (e instanceof UsageError) {
      ctx.err(e.message);
      return EXIT.usage;
    }
    if (e instanceof TaskfleetError) {
      if (json) ctx.out(JSON.stringify({ error: e.message, status: e.status, problem: e.problem ?? null }));
      ctx.err(
        `taskfleet ${command.name}: ${e.message}${e.problem?.errors ? `\n${e.problem.errors.map((f) => `  ${f.field}: ${f.message}`).join('\n')}` : ''}`,
      );
      return exitFor(e);
    }
    throw e;
  }
}
