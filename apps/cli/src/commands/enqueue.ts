/** `taskfleet enqueue <queue> [payload-json | -]`: submit a task, optionally waiting for its outcome. */
import type { EnqueueOptions, Priority } from '@taskfleet/client';
import { apiCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { readStdin } from '../io.ts';
import { GLOBAL_HELP, int, UsageError, type Values } from '../options.ts';
import { taskLine } from '../output.ts';

const options = {
  priority: { type: 'string' },
  delay: { type: 'string' },
  'run-at': { type: 'string' },
  'max-attempts': { type: 'string' },
  timeout: { type: 'string' },
  'idempotency-key': { type: 'string' },
  dedupe: { type: 'string' },
  'dedupe-seconds': { type: 'string' },
  debounce: { type: 'boolean', default: false },
  callback: { type: 'string' },
  'depends-on': { type: 'string' },
  wait: { type: 'boolean', default: false },
  'wait-timeout': { type: 'string' },
} as const;

function enqueueOptions(values: Values<typeof options>): EnqueueOptions {
  return {
    ...(values.priority ? { priority: values.priority as Priority } : {}),
    ...(values.delay !== undefined ? { delaySeconds: int('delay', values.delay) as number } : {}),
    ...(values['run-at'] ? { runAt: values['run-at'] } : {}),
    ...(values['max-attempts'] !== undefined ? { maxAttempts: int('max-attempts', values['max-attempts']) as number } : {}),
    ...(values.timeout !== undefined ? { timeoutSeconds: int('timeout', values.timeout) as number } : {}),
    ...(values['idempotency-key'] ? { idempotencyKey: values['idempotency-key'] } : {}),
    ...dedupeOption(values),
    ...(values.callback ? { callback: { url: values.callback } } : {}),
    ...(values['depends-on'] ? { dependsOn: values['depends-on'].split(',').map((s) => s.trim()) } : {}),
  };
}

function dedupeOption(values: Values<typeof options>): Pick<EnqueueOptions, 'dedupe'> {
  if (values.dedupe === undefined) {
    if (values['dedupe-seconds'] !== undefined || values.debounce)
      throw new UsageError('--dedupe-seconds and --debounce need --dedupe KEY');
    return {};
  }
  const seconds = int('dedupe-seconds', values['dedupe-seconds']);
  if (seconds === undefined) throw new UsageError('--dedupe needs --dedupe-seconds N (the window)');
  return { dedupe: { key: values.dedupe, seconds, mode: values.debounce ? 'debounce' : 'throttle' } };
}

export const enqueue = apiCommand({
  name: 'enqueue',
  summary: [['enqueue <queue> [payload-json | -]', 'submit a task (payload from the argument or stdin)']],
  help: `usage: taskfleet enqueue <queue> [payload-json | -] [options]
  --priority critical|high|normal|low
  --delay SECONDS | --run-at ISO-TIME
  --max-attempts N  --timeout SECONDS
  --idempotency-key KEY   (generated when omitted; retries reuse it)
  --dedupe KEY --dedupe-seconds N [--debounce]
                          one task per key and window: the first (throttle) or the last (debounce)
  --callback URL          POST the task's view (signed) to URL when it ends
  --depends-on ID[,ID…]   run once these tasks have completed (cancelled if one fails)
  --wait [--wait-timeout SECONDS]   wait for a final state; exit 1 unless completed

${GLOBAL_HELP}`,
  options,
  async run({ positionals, values }, { client, io, need, print }) {
    need(1, '<queue>');
    const [queue, raw] = positionals as [string, string | undefined];
    const text = raw === '-' ? await readStdin(io) : (raw ?? '{}');
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new UsageError(`the payload is not valid JSON: ${text.slice(0, 80)}`);
    }
    const receipt = await client.enqueueUntyped(queue, payload, enqueueOptions(values));
    if (values.wait) {
      const timeoutMs = (int('wait-timeout', values['wait-timeout']) ?? 60) * 1000;
      const task = await client.waitFor(queue, receipt.id, { timeoutMs });
      print(
        task,
        () =>
          `${taskLine(task)}${task.output !== null ? `\noutput: ${JSON.stringify(task.output)}` : ''}${task.lastError ? `\nerror: ${JSON.stringify(task.lastError)}` : ''}`,
      );
      return task.state === 'completed' ? EXIT.ok : EXIT.failed;
    }
    print(receipt, () => `accepted ${receipt.queue} ${receipt.id} ${receipt.state}\n${receipt.statusUrl}`);
    return EXIT.ok;
  },
});
