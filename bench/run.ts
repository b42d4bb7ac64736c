/**
 * `npm run bench` (every scenario) or `npm run bench -- <scenario> [--quick]`. Each scenario starts
 * what it needs (embedded PostgreSQL unless DATABASE_URL is set), warms up, measures, tears down,
 * prints a table and writes bench/results/<scenario>.json.
 */
import { parseArgs } from 'node:util';
import { externalServerFor, machineFacts, resultsDir } from './lib/env.ts';
import { summaryRows } from './lib/summary.ts';
import { runBacklog } from './scenarios/backlog.ts';
import { runDrain } from './scenarios/drain.ts';
import { runE2e } from './scenarios/e2e.ts';
import { runGroups } from './scenarios/groups.ts';
import { runIngest } from './scenarios/ingest.ts';
import { runPartitions } from './scenarios/partitions.ts';
import { runReplicaReads } from './scenarios/replica-reads.ts';
import { runWorkerBench } from './scenarios/worker.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    connections: { type: 'string' },
    seconds: { type: 'string' },
    repeats: { type: 'string' },
    // partitions: its sizes (jobs; jobs/s for the rate)
    'neighbour-backlog': { type: 'string' },
    'neighbour-rate': { type: 'string' },
    'drain-jobs': { type: 'string' },
    'deep-backlog': { type: 'string' },
  },
});
const connections = values.connections?.split(',').map(Number);
const seconds = values.seconds ? Number(values.seconds) : undefined;
const quick = values.quick;
if (quick) process.env.TASKFLEET_BENCH_QUICK = '1';
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// The scenario names of the benchmark issue; `npm run bench` runs them all in this order.
const ingestOptions = (part: 'single' | 'batch') =>
  quick
    ? { connections: [16], seconds: 1, warmupSeconds: 1, batchSeconds: 1, batchSize: 100, part, profileSeconds: 1 }
    : {
        connections: connections ?? [16, 64, 256],
        seconds: seconds ?? 8,
        warmupSeconds: 3,
        batchSeconds: seconds ?? 8,
        batchSize: 1000,
        part,
        profileSeconds: 5,
      };
const workerOptions = (part: 'latency' | 'priority') =>
  quick ? { latencySamples: 20, prioritySeconds: 2, part } : { latencySamples: 200, prioritySeconds: 10, part };
const repeats = values.repeats ? Number(values.repeats) : undefined;
const drainOptions = quick
  ? { backlog: 2000, bullmqBacklog: 1000, repeats: repeats ?? 1 }
  : { backlog: 100_000, bullmqBacklog: 20_000, repeats: repeats ?? 3 };

/** Full: B holds 1,000,000 with a churn of 1,000/s; A drains 100,000 (3 rounds) and 1,000,000 queued. */
function partitionsOptions() {
  const size = (name: keyof typeof values, full: number, small: number) =>
    typeof values[name] === 'string' ? Number(values[name]) : quick ? small : full;
  return {
    neighbourBacklog: size('neighbour-backlog', 1_000_000, 20_000),
    neighbourRate: size('neighbour-rate', 1_000, 200),
    drain: size('drain-jobs', 100_000, 2_000),
    repeats: repeats ?? (quick ? 1 : 3),
    deepBacklog: size('deep-backlog', 1_000_000, 20_000),
    warmupSeconds: quick ? 0 : 2,
    seconds: seconds ?? (quick ? 2 : 10),
  };
}

const scenarios: Record<string, () => Promise<void>> = {
  ingest: () => runIngest(ingestOptions('single'), log),
  'ingest-batch': () => runIngest(ingestOptions('batch'), log),
  drain: () => runDrain(drainOptions, log),
  latency: () => runWorkerBench(workerOptions('latency'), log),
  priority: () => runWorkerBench(workerOptions('priority'), log),
  e2e: () => runE2e(quick ? { rate: 200, seconds: 3, drainTimeoutSeconds: 20 } : { rate: 2000, seconds: 20, drainTimeoutSeconds: 60 }, log),
  groups: () => runGroups(quick ? { backlog: 2_000, repeats: 5 } : { backlog: 100_000, repeats: 30 }, log),
  backlog: () =>
    runBacklog(
      quick ? { backlog: 20_000, seconds: 1, drainWarmupSeconds: 0 } : { backlog: 1_000_000, seconds: 6, drainWarmupSeconds: 2 },
      log,
    ),
  // Measures every server itself (like drain): about 6 minutes per server in a full run.
  partitions: () => runPartitions(partitionsOptions(), log),
  // Its own embedded primary and streaming replica (about 2 minutes).
  'replica-reads': () =>
    runReplicaReads(
      quick
        ? { tasks: 2_000, connections: 16, warmupSeconds: 1, seconds: 2, repeats: 1 }
        : { tasks: 100_000, connections: connections?.[0] ?? 64, warmupSeconds: 3, seconds: seconds ?? 10, repeats: repeats ?? 3 },
      log,
    ),
};
/** Scenarios not run again on the stock server below: they measure it themselves, or cannot use it (replica-reads). */
const MEASURE_EVERY_SERVER = new Set(['drain', 'partitions', 'replica-reads']);

const chosen = positionals.length ? positionals : Object.keys(scenarios);
const facts = machineFacts();
log(
  `machine: ${facts.cpus} × ${facts.cpuModel}, ${facts.memoryGiB} GiB, ${facts.platform}, Node ${facts.node}; scenarios: ${chosen.join(', ')}`,
);
for (const name of chosen) {
  if (!scenarios[name]) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
}
const header = `${facts.cpus} × ${facts.cpuModel}, ${facts.memoryGiB} GiB, Node ${facts.node}${quick ? ' (quick: sizes too small to judge)' : ''}`;
for (const name of chosen) {
  log(`scenario ${name}${quick ? ' (quick)' : ''}`);
  await scenarios[name]?.();
}
console.log(`\nsummary — ${header}${process.env.DATABASE_URL ? ' — DATABASE_URL' : ' — embedded PostgreSQL'}`);
console.table(summaryRows(resultsDir(), chosen));

// Every figure must hold on a server we did not configure: without DATABASE_URL, the scenarios run
// again on the stock external server when one answers (drain measures both servers itself).
const external = await externalServerFor(log);
const again = chosen.filter((name) => !MEASURE_EVERY_SERVER.has(name));
if (external && again.length > 0) {
  process.env.DATABASE_URL = external;
  process.env.TASKFLEET_BENCH_SERVER = 'stock';
  for (const name of again) {
    log(`scenario ${name}${quick ? ' (quick)' : ''} on the stock server ${external}`);
    await scenarios[name]?.();
  }
  console.log(`\nsummary — ${header} — stock PostgreSQL (${external})`);
  console.table(summaryRows(resultsDir(), again));
}
log(quick ? 'done (quick results in bench/results/quick/)' : 'done — `npm run bench:report` rewrites BENCHMARKS.md from bench/results/');
