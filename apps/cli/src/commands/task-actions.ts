/** `taskfleet cancel <queue> <id>` and `taskfleet retry <queue> <id>`. */
import { apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { GLOBAL_HELP } from '../options.ts';
import { taskLine } from '../output.ts';

function taskAction(name: 'cancel' | 'retry', done: string, description: string) {
  return apiCommand({
    name,
    summary: [[`${name} <queue> <id>`, description]],
    help: `usage: taskfleet ${name} <queue> <id>\n\n${GLOBAL_HELP}`,
    options: {},
    async run({ positionals }, { client, need, print }) {
      need(2, '<queue> <id>');
      const task = await client[name](positionals[0] as string, positionals[1] as string);
      print(task, () => `${done}: ${taskLine(task)}`);
      return EXIT.ok;
    },
  });
}

export const cancel = taskAction('cancel', 'cancelled', 'cancel a waiting or running task');
export const retry = taskAction('retry', 'retrying', 'retry a failed, dead-lettered or cancelled task');
