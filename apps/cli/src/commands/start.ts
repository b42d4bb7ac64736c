/** `taskfleet start api|worker`: runs one app process in the foreground. */
import { delegatedCommand } from '../command.ts';
import { delegate } from '../delegate.ts';
import { EXIT } from '../exit-codes.ts';

const COMPILE_CACHE_DIR = '/tmp/taskfleet-node-compile-cache';
const help = 'usage: taskfleet start api|worker   (configured by the environment; see README "Configuration")';

export const start = delegatedCommand({
  name: 'start',
  summary: [['start api|worker', 'run one app process (DATABASE_URL)']],
  help,
  async run([role], { io, err }) {
    if (role !== 'api' && role !== 'worker') {
      err(help);
      return EXIT.usage;
    }
    // The same V8 flags and compile cache as every other launcher (scripts/lib/node-flags.ts; a test checks).
    const flags = role === 'api' ? ['--max-semi-space-size=16', '--heap-growing-percent=50'] : ['--max-semi-space-size=4'];
    return delegate(`apps/${role}/src/main.ts`, [], { NODE_COMPILE_CACHE: COMPILE_CACHE_DIR, ...io.env }, flags);
  },
});
