/** `taskfleet workers`: worker replicas and their slots. */
import { apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { GLOBAL_HELP } from '../options.ts';
import { table } from '../output.ts';

export const workers = apiCommand({
  name: 'workers',
  summary: [['workers', 'worker replicas and their slots']],
  help: `usage: taskfleet workers\n\n${GLOBAL_HELP}`,
  options: {},
  async run(_args, { client, print }) {
    const res = await client.workers();
    print(res, () =>
      [
        table(
          res.workers.map((w) => ({
            replica: w.id,
            host: w.hostname,
            pid: w.pid,
            queues: w.queues.join(','),
            busy: w.active,
            slots: w.concurrency,
          })),
        ),
        `${res.totals.replicas} replica(s), ${res.totals.active} of ${res.totals.slots} slots busy`,
      ].join('\n'),
    );
    return EXIT.ok;
  },
});
