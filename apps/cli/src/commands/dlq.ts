/** `taskfleet dlq list|redrive <queue>`: a queue's dead-lettered tasks, and moving them back. */
import { apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { GLOBAL_HELP, int, UsageError } from '../options.ts';
import { listTasks, pageOptions } from './tasks.ts';

const help = `usage: taskfleet dlq list <queue> [--limit N] [--cursor C]
       taskfleet dlq redrive <queue> [--limit N]

${GLOBAL_HELP}`;

export const dlq = apiCommand({
  name: 'dlq',
  summary: [
    ['dlq list <queue>', 'dead-lettered tasks of a queue'],
    ['dlq redrive <queue>', 'move them back into the queue (admin key)'],
  ],
  help,
  options: pageOptions,
  async run({ positionals, values }, ctx) {
    ctx.need(2, 'list|redrive <queue>');
    const [verb, queue] = positionals as [string, string];
    if (verb === 'redrive') {
      const limit = int('limit', values.limit);
      const r = await ctx.client.redrive(queue, limit ? { limit } : {});
      ctx.print(r, () => `moved ${r.moved} task(s) from ${r.deadLetterQueue} back into ${r.queue}`);
      return EXIT.ok;
    }
    if (verb !== 'list') throw new UsageError(`unknown dlq command ${JSON.stringify(verb)}\n\n${help}`);
    return listTasks(ctx, queue, 'dead_lettered', values);
  },
});
