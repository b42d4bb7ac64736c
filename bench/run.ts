/**
 * `npm run bench` (every scenario) or `npm run bench -- <scenario> [--quick]`. Each scenario starts
 * what it needs (embedded PostgreSQL unless DATABASE_URL is set), warms up, measures, tears down,
 * prints a table and writes bench/results/<scenario>.json.
 */
import { parseArgs } from 'node:util';
import { runE2e } from './scenarios/e2e.ts';
import { runIngest } from './scenarios/ingest.ts';
import { runQueueMetrics } from './scenarios/queue-metrics.ts';
import { runWorkerBench } from './scenarios/worker.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean', default: false }, connections: { type: 'string' }, seconds: { type: 'string' } },
});
const connections = values.connections?.split(',').map(Number);
const seconds = values.seconds ? Number(values.seconds) : undefined;
const quick = values.quick;
if (quick) process.env.TASKFLEET_BENCH_QUICK = '1';
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const scenarios: Record<string, () => Promise<void>> = {
  ingest: () =>
    runIngest(
      quick
        ? { connections: [16], seconds: 1, warmupSeconds: 1, batchSeconds: 1, batchSize: 100 }
        : {
            connections: connections ?? [16, 64, 256],
            seconds: seconds ?? 8,
            warmupSeconds: 3,
            batchSeconds: seconds ?? 8,
            batchSize: 1000,
          },
      log,
    ),
};

scenarios.worker = () =>
  runWorkerBench(
    quick
      ? { backlog: 2000, baselineSeconds: 2, latencySamples: 20, prioritySeconds: 2 }
      : { backlog: 100_000, baselineSeconds: 10, latencySamples: 200, prioritySeconds: 10 },
    log,
  );

scenarios['queue-metrics'] = () => runQueueMetrics({ backlog: quick ? 5000 : 1_000_000 }, log);

scenarios.e2e = () =>
  runE2e(quick ? { rate: 200, seconds: 3, drainTimeoutSeconds: 20 } : { rate: 2000, seconds: 20, drainTimeoutSeconds: 60 }, log);

const chosen = positionals.length ? positionals : Object.keys(scenarios);
for (const name of chosen) {
  const run = scenarios[name];
  if (!run) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  log(`scenario ${name}${quick ? ' (quick)' : ''}`);
  await run();
}
