#!/usr/bin/env node
/** `taskfleet` command line (thin entry point: cli.ts dispatches to the modules in commands/). */
import { runCli } from './cli.ts';

process.exitCode = await runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
