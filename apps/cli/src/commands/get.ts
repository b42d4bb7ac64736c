/** `taskfleet get <queue> <id>`: one task. */
import { apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { GLOBAL_HELP } from '../options.ts';
import { taskLine } from '../output.ts';

export const get = apiCommand({
  name: 'get',
  summary: [['get <queue> <id>', 'one task']],
  help: `usage: taskfleet get <queue> <id>\n\n${GLOBAL_HELP}`,
  options: {},
  async run({ positionals }, { client, need, print }) {
    need(2, '<queue> <id>');
    const task = await client.get(positionals[0] as string, positionals[1] as string);
    print(task, () =>
      [
        taskLine(task),
        `priority ${task.priority}; created ${task.createdAt}; due ${task.runAt}; started ${task.startedAt ?? '-'}; finished ${task.finishedAt ?? '-'}`,
        `payload: ${JSON.stringify(task.payload)}`,
        ...(task.progress !== null ? [`progress: ${JSON.stringify(task.progress)}`] : []),
        ...(task.callback ? [`callback: ${task.callback.url}`] : []),
        ...(task.output !== null ? [`output: ${JSON.stringify(task.output)}`] : []),
        ...(task.lastError ? [`error: ${JSON.stringify(task.lastError)}`] : []),
      ].join('\n'),
    );
    return EXIT.ok;
  },
});
