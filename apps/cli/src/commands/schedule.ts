/** `taskfleet schedule set|list|delete`: recurring schedules (one task per cron slot, fleet-wide). */
import type { Priority, Schedule, ScheduleInput } from '@taskfleet/client';
import { apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { GLOBAL_HELP, int, UsageError, type Values } from '../options.ts';
import { table } from '../output.ts';

const help = `usage: taskfleet schedule set <name> --queue Q --cron "M H DOM MON DOW" [--timezone ZONE] [--payload JSON]
                             [--priority P] [--max-attempts N] [--timeout SECONDS] [--group G]
       taskfleet schedule list
       taskfleet schedule delete <name>
  --queue Q          the task type each task goes to
  --cron "..."       5 fields: minute hour day-of-month month day-of-week, e.g. "*/5 * * * *"
  --timezone ZONE    IANA time zone the expression is evaluated in (default UTC), e.g. Europe/Berlin
  --payload JSON     each task's payload (default {})
One task per slot, whatever the number of replicas; after an outage of every replica only the latest
missed slot runs. Setting an existing name replaces it (same cron and zone: its next slot stays).

${GLOBAL_HELP}`;

const options = {
  queue: { type: 'string' },
  cron: { type: 'string' },
  timezone: { type: 'string' },
  payload: { type: 'string' },
  priority: { type: 'string' },
  'max-attempts': { type: 'string' },
  timeout: { type: 'string' },
  group: { type: 'string' },
} as const;

function inputOf(values: Values<typeof options>): ScheduleInput {
  if (!values.queue || !values.cron) throw new UsageError(`schedule set needs --queue and --cron\n\n${help}`);
  let payload: unknown = {};
  if (values.payload !== undefined) {
    try {
      payload = JSON.parse(values.payload);
    } catch {
      throw new UsageError(`--payload is not valid JSON: ${values.payload}`);
    }
  }
  const maxAttempts = int('max-attempts', values['max-attempts']);
  const timeoutSeconds = int('timeout', values.timeout);
  return {
    queue: values.queue,
    cron: values.cron,
    payload,
    ...(values.timezone ? { timezone: values.timezone } : {}),
    ...(values.priority ? { priority: values.priority as Priority } : {}),
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    ...(values.group ? { group: values.group } : {}),
  };
}

const line = (s: Schedule) => `${s.name}: ${s.queue} "${s.cron}" ${s.timezone}; next ${s.nextRunAt}; last ${s.lastRunAt ?? 'never'}`;

export const schedule = apiCommand({
  name: 'schedule',
  summary: [
    ['schedule set <name> --queue Q --cron "..."', 'create or replace a recurring schedule'],
    ['schedule list | delete <name>', 'the recurring schedules; delete one'],
  ],
  help,
  options,
  async run({ positionals, values }, { client, print, need, out }) {
    need(1, 'set|list|delete');
    const [verb, name] = positionals as [string, string | undefined];
    if (verb === 'list') {
      const all = await client.schedules.list();
      print({ schedules: all }, () =>
        all.length === 0
          ? 'no schedules'
          : table(
              all.map((s) => ({
                name: s.name,
                queue: s.queue,
                cron: s.cron,
                timezone: s.timezone,
                next: s.nextRunAt,
                last: s.lastRunAt ?? '-',
              })),
            ),
      );
      return EXIT.ok;
    }
    if (verb !== 'set' && verb !== 'delete') throw new UsageError(`unknown schedule command ${JSON.stringify(verb)}\n\n${help}`);
    need(2, `${verb} <name>`);
    if (verb === 'delete') {
      await client.schedules.delete(name as string);
      out(`deleted schedule ${name}`);
      return EXIT.ok;
    }
    const s = await client.schedules.set(name as string, inputOf(values));
    print(s, () => line(s));
    return EXIT.ok;
  },
});
