/** `taskfleet tasks <queue>`: list a queue's tasks; `listTasks` also serves `dlq list`. */
import type { TaskState } from '@taskfleet/client';
import { type ApiContext, apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { GLOBAL_HELP, int } from '../options.ts';
import { table } from '../output.ts';

export const pageOptions = {
  limit: { type: 'string' },
  cursor: { type: 'string' },
} as const;

/** One page of a queue's tasks (optionally in the given comma-separated states) as a table. */
export async function listTasks(
  { client, print }: ApiContext,
  queue: string,
  state: string | undefined,
  values: { limit?: string | undefined; cursor?: string | undefined },
): Promise<number> {
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

export const tasks = apiCommand({
  name: 'tasks',
  summary: [['tasks <queue>', 'list tasks (--state, --limit, --cursor)']],
  help: `usage: taskfleet tasks <queue> [--state STATE[,STATE…]] [--limit N] [--cursor C]\n\n${GLOBAL_HELP}`,
  options: { state: { type: 'string' }, ...pageOptions },
  async run({ positionals, values }, ctx) {
    ctx.need(1, '<queue>');
    return listTasks(ctx, positionals[0] as string, values.state, values);
  },
});
