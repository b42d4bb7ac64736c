/** `taskfleet get <queue> <id> [--wait [SECONDS]]`: one task, optionally once it has ended (long-poll). */
import { apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { GLOBAL_HELP, int } from '../options.ts';
import { taskLine } from '../output.ts';

export const get = apiCommand({
  name: 'get',
  summary: [['get <queue> <id> [--wait [SECONDS]]', 'one task (--wait: once it has ended)']],
  help: `usage: taskfleet get <queue> <id> [--wait [SECONDS]]
  --wait [SECONDS]   wait (long-poll, default 60 s) until the task has ended; exit 1 unless completed,
                     5 if it is still running after SECONDS

${GLOBAL_HELP}`,
  options: { wait: { type: 'boolean', default: false } },
  async run({ positionals, values }, { client, need, print }) {
    need(2, '<queue> <id>');
    const [queue, id, seconds] = positionals as [string, string, string | undefined];
    const task = values.wait
      ? await client.waitFor(queue, id, { timeoutSeconds: int('wait', seconds) ?? 60 })
      : await client.get(queue, id);
    print(task, () =>
      [
        taskLine(task),
        `priority ${task.priority}; created ${task.createdAt}; due ${task.runAt}; started ${task.startedAt ?? '-'}; finished ${task.finishedAt ?? '-'}`,
        `payload: ${JSON.stringify(task.payload)}`,
        ...(task.progress !== null ? [`progress: ${JSON.stringify(task.progress)}`] : []),
        ...(task.callback ? [`callback: ${task.callback.url}`] : []),
        ...(task.output !== null ? [`output: ${JSON.stringify(task.output)}`] : []),
        ...(task.lastError ? [`error: ${JSON.stringify(task.lastError)}`] : []),
        ...(task.dependsOn.length > 0 ? [`depends on: ${task.dependsOn.map((d) => `${d.queue} ${d.id}`).join(', ')}`] : []),
      ].join('\n'),
    );
    return !values.wait || task.state === 'completed' ? EXIT.ok : EXIT.failed;
  },
});
