/** `taskfleet queue show|set <queue>`: a queue's fleet-wide flow control (pause, concurrency, rate, per-group concurrency). */
import type { QueueInfo, QueueSettingsPatch } from '@taskfleet/client';
import { apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { GLOBAL_HELP, int, UsageError } from '../options.ts';

const help = `usage: taskfleet queue show <queue>
       taskfleet queue set <queue> [--paused | --resume] [--concurrency N|none] [--rate N/s|N/Ns|N/m|none]
                                  [--group-concurrency N|none]
  --paused           no replica starts a task of the queue (enqueue still accepted)
  --resume           start again at once
  --concurrency N    at most N tasks of the queue running across every replica (none: unlimited)
  --rate N/PERIOD    at most N task starts per period across the fleet, e.g. 100/s, 500/10s, 60/m (none: unlimited)
  --group-concurrency N
                     at most N tasks of one group (tenant) running at once; groups take turns (none: no limit)
(set needs an admin key)

${GLOBAL_HELP}`;

/** `100/s`, `500/10s`, `60/m`, `none`. */
export function parseRate(text: string): QueueSettingsPatch['rate'] {
  if (text === 'none') return null;
  const m = /^(\d+)\/(\d*)(s|m|h)$/.exec(text);
  if (!m) throw new UsageError(`--rate must look like 100/s, 500/10s or 60/m (or none), got ${JSON.stringify(text)}`);
  const unit = { s: 1, m: 60, h: 3600 }[m[3] as 's' | 'm' | 'h'];
  return { limit: Number(m[1]), periodSeconds: (m[2] ? Number(m[2]) : 1) * unit };
}

function patchOf(values: {
  paused?: boolean;
  resume?: boolean;
  concurrency?: string;
  rate?: string;
  'group-concurrency'?: string;
}): QueueSettingsPatch {
  if (values.paused && values.resume) throw new UsageError('--paused and --resume together');
  const patch: QueueSettingsPatch = {};
  if (values.paused) patch.paused = true;
  if (values.resume) patch.paused = false;
  if (values.concurrency !== undefined)
    patch.concurrency = values.concurrency === 'none' ? null : (int('concurrency', values.concurrency) ?? null);
  if (values.rate !== undefined) patch.rate = parseRate(values.rate);
  const group = values['group-concurrency'];
  if (group !== undefined) patch.groupConcurrency = group === 'none' ? null : (int('group-concurrency', group) ?? null);
  if (Object.keys(patch).length === 0) throw new UsageError(`nothing to set\n\n${help}`);
  return patch;
}

function describe(q: QueueInfo): string {
  const s = q.settings;
  const rate = s.rate ? `${s.rate.limit} per ${s.rate.periodSeconds} s` : 'unlimited';
  return `${q.name}: ${s.paused ? 'paused' : 'running'}; concurrency ${s.concurrency ?? 'unlimited'}; rate ${rate}; per group ${s.groupConcurrency ?? 'unlimited'}; ready ${q.depth.ready}, running ${q.depth.running}`;
}

export const queue = apiCommand({
  name: 'queue',
  summary: [
    ['queue show <queue>', "a queue's depth and flow-control settings"],
    ['queue set <queue> ...', 'pause/resume, fleet-wide concurrency, rate, per-group concurrency (admin key)'],
  ],
  help,
  options: {
    paused: { type: 'boolean' },
    resume: { type: 'boolean' },
    concurrency: { type: 'string' },
    rate: { type: 'string' },
    'group-concurrency': { type: 'string' },
  },
  async run({ positionals, values }, ctx) {
    ctx.need(2, 'show|set <queue>');
    const [verb, name] = positionals as [string, string];
    if (verb === 'show') {
      const q = await ctx.client.queue(name);
      ctx.print(q, () => describe(q));
      return EXIT.ok;
    }
    if (verb !== 'set') throw new UsageError(`unknown queue command ${JSON.stringify(verb)}\n\n${help}`);
    const q = await ctx.client.updateQueue(name, patchOf(values));
    ctx.print(q, () => describe(q));
    return EXIT.ok;
  },
});
