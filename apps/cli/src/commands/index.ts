/** The command table: every command module, in the order the top-level help lists them. */
import type { ParseArgsOptionsConfig } from 'node:util';
import type { Command } from '../command.ts';
import { GLOBAL_HELP, GLOBAL_OPTIONS } from '../options.ts';
import { apikey } from './apikey.ts';
import { dlq } from './dlq.ts';
import { enqueue } from './enqueue.ts';
import { get } from './get.ts';
import { migrate } from './migrate.ts';
import { queue } from './queue.ts';
import { queues } from './queues.ts';
import { schedule } from './schedule.ts';
import { start } from './start.ts';
import { cancel, retry } from './task-actions.ts';
import { tasks } from './tasks.ts';
import { workers } from './workers.ts';

export const COMMANDS: readonly Command[] = [
  enqueue,
  get,
  tasks,
  cancel,
  retry,
  queues,
  queue,
  schedule,
  workers,
  dlq,
  apikey,
  migrate,
  start,
];

const byName = new Map(COMMANDS.map((c) => [c.name, c]));

export function commandNamed(name: string): Command | undefined {
  return byName.get(name);
}

/** The global options plus every API command's own (one flag name, one meaning). */
export const ALL_OPTIONS: typeof GLOBAL_OPTIONS = (() => {
  const all: ParseArgsOptionsConfig = {};
  for (const command of COMMANDS) {
    if (command.kind !== 'api') continue;
    for (const [name, option] of Object.entries(command.options)) {
      if (all[name] && all[name].type !== option.type)
        throw new Error(`option --${name} of ${command.name} conflicts with another command's`);
      all[name] = option;
    }
  }
  return { ...all, ...GLOBAL_OPTIONS };
})();

const usageWidth = Math.max(...COMMANDS.flatMap((c) => c.summary.map(([usage]) => usage.length))) + 3;

export const TOP_HELP = `usage: taskfleet <command> [options]

Commands:
${COMMANDS.flatMap((c) => c.summary.map(([usage, description]) => `  ${usage.padEnd(usageWidth)}${description}`)).join('\n')}

Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 refused input, 5 unavailable, 6 unauthorized.

${GLOBAL_HELP}`;
