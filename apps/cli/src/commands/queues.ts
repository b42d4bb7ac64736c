/** `taskfleet queues`: every queue with its depth by state, as a table. */
import { apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { GLOBAL_HELP } from '../options.ts';
import { table } from '../output.ts';

export const queues = apiCommand({
  name: 'queues',
  summary: [['queues', 'queues with depth by state (table)']],
  help: `usage: taskfleet queues\n\n${GLOBAL_HELP}`,
  options: {},
  async run(_args, { client, print }) {
    const queues = await client.queues();
    print(queues, () =>
      table(
        queues.map((q) => ({
          queue: q.name,
          ready: q.depth.ready,
          scheduled: q.depth.scheduled,
          retrying: q.depth.retrying,
          running: q.depth.running,
          completed: q.depth.completed,
          failed: q.depth.failed,
          cancelled: q.depth.cancelled,
          'oldest ready s': q.oldestReadyAgeSeconds ?? '',
        })),
      ),
    );
    return EXIT.ok;
  },
});
