/** `taskfleet apikey create|list|revoke`: runs scripts/apikey.ts (its own options). */
import { delegatedCommand } from '../command.ts';
import { delegate } from '../delegate.ts';

export const apikey = delegatedCommand({
  name: 'apikey',
  summary: [['apikey create|list|revoke ...', 'manage API keys (DATABASE_URL)']],
  help: `usage: taskfleet apikey create --name NAME [--scopes submit,read,admin] [--rate-limit N] [--json]
       taskfleet apikey list [--json]
       taskfleet apikey revoke --name NAME
(talks to PostgreSQL: DATABASE_URL, or the embedded one of \`npm start\`)`,
  run: (args, { io }) => delegate('scripts/apikey.ts', args, io.env),
});
