/** `taskfleet migrate`: runs scripts/migrate.ts. */
import { delegatedCommand } from '../command.ts';
import { delegate } from '../delegate.ts';

export const migrate = delegatedCommand({
  name: 'migrate',
  summary: [['migrate', 'apply migrations (DATABASE_URL)']],
  help: 'usage: taskfleet migrate   (DATABASE_URL, or the embedded one of `npm start`)',
  run: (args, { io }) => delegate('scripts/migrate.ts', args, io.env),
});
