/**
 * What a command module exports: its name, the lines it adds to the top-level help, its own help
 * text, and `run(args, ctx)`. API commands also declare their options and get a client; delegated
 * commands (`apikey`, `migrate`, `start`) get their arguments unparsed and run a repo script or app.
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import type { TaskfleetClient } from '@taskfleet/client';
import type { Io } from './io.ts';
import type { Values } from './options.ts';

/** One line of the top-level help: the usage and what it does. */
export type Summary = readonly [usage: string, description: string];

export interface Context {
  io: Io;
  /** Write a line to stdout / stderr. */
  out(s: string): void;
  err(s: string): void;
}

export interface ApiContext extends Context {
  client: TaskfleetClient;
  /** `data` as JSON with --json, else the human text. */
  print(data: unknown, human: () => string): void;
  /** Usage error (with the command's help) unless there are at least `n` positional arguments. */
  need(n: number, what: string): void;
}

export interface ApiArgs<O extends ParseArgsOptionsConfig> {
  positionals: string[];
  values: Values<O>;
}

interface CommandInfo {
  name: string;
  summary: readonly Summary[];
  help: string;
}

export interface ApiCommand<O extends ParseArgsOptionsConfig = ParseArgsOptionsConfig> extends CommandInfo {
  kind: 'api';
  options: O;
  run(args: ApiArgs<O>, ctx: ApiContext): Promise<number>;
}

export interface DelegatedCommand extends CommandInfo {
  kind: 'delegated';
  run(args: string[], ctx: Context): Promise<number>;
}

export type Command = ApiCommand | DelegatedCommand;

/**
 * An API command, typed by its own options. The dispatcher parses with every command's options (a
 * flag of another command is accepted and ignored), so `values` holds at least these.
 */
export function apiCommand<const O extends ParseArgsOptionsConfig>(command: Omit<ApiCommand<O>, 'kind'>): ApiCommand {
  return { kind: 'api', ...command } as unknown as ApiCommand;
}

export function delegatedCommand(command: Omit<DelegatedCommand, 'kind'>): DelegatedCommand {
  return { kind: 'delegated', ...command };
}
