/** The end-of-run table: every target figure with its same-run baseline, ratio and verdict. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface SummaryRow {
  scenario: string;
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  met: string;
}

/** Adds one row of the current scenario; `met` null leaves the verdict empty (a figure without a target). */
type Add = (figure: string, value: number | string, baseline: string, ratio: string, target: string, met: boolean | null) => void;

const yes = (b: boolean) => (b ? 'yes' : 'NO');
/** A ratio for the table; '–' when a side was zero or missing (e.g. quick runs). */
const fx = (v: unknown, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');

function readResult(dir: string, name: string): any {
  return existsSync(path.join(dir, `${name}.json`)) ? JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) : undefined;
}

function ingestRows(r: any, add: Add): void {
  if (r.targets?.vsNaive == null) return;
  const tf = r.single.taskfleet.find((x: any) => x.connections === 64);
  add(
    'req/s @64',
    tf.rps,
    `naive ${r.single.naive.find((x: any) => x.connections === 64).rps}`,
    `${fx(r.targets.vsNaive)}×`,
    '≥ 8×',
    r.targets.vsNaive >= 8,
  );
  add(
    'req/s @64',
    tf.rps,
    `ceiling ${r.single.ceiling.find((x: any) => x.connections === 64).rps}`,
    `${fx(100 * r.targets.vsCeiling, 0)} %`,
    '≥ 40 %',
    r.targets.vsCeiling >= 0.4,
  );
  const bullmq = r.single['bullmq-redis']?.find((x: any) => x.connections === 64);
  if (bullmq && r.targets.vsBullmqRedis != null) {
    add('req/s @64', tf.rps, `BullMQ-Redis ${bullmq.rps}`, `${fx(r.targets.vsBullmqRedis)}×`, '≥ 0.8×', r.targets.vsBullmqRedis >= 0.8);
  }
  add('p99 ms @64', tf.p99, '', '', '≤ 20', tf.p99 <= 20);
  const at256 = r.single.taskfleet.find((x: any) => x.connections === 256);
  if (at256)
    add(
      'p99 ms @256',
      at256.p99,
      `failures ${r.targets.failuresAt256 ?? '–'}`,
      '',
      '≤ 100, 0 failures',
      at256.p99 <= 100 && r.targets.failuresAt256 === 0,
    );
  if (r.rssMb?.taskfleet) add('API RSS MB', r.rssMb.taskfleet, 'after 256 connections', '', '< 150', r.rssMb.taskfleet < 150);
}

function ingestBatchRows(r: any, add: Add): void {
  if (!r.batch) return;
  add(
    'tasks/s',
    r.batch.tasksPerSecond,
    `boss.insert ${r.batch.rawInsertTasksPerSecond}`,
    `${fx(r.batch.tasksPerSecond / r.batch.rawInsertTasksPerSecond)}×`,
    '≥ 40000',
    r.batch.tasksPerSecond >= 40000,
  );
}

/** One group of rows per PostgreSQL server the drain ran on. */
function drainRows(r: any, add: Add): void {
  if (!r.servers) return;
  for (const sv of r.servers) {
    const one = sv.taskfleet1;
    add(
      `jobs/s ×1, ${sv.server}`,
      one.median,
      `graphile-worker ${sv.graphile.median}`,
      `${fx(sv.ratios.vsGraphile)}×`,
      '≥ 1.0×',
      sv.ratios.vsGraphile >= 1,
    );
    if (sv.ratios.vsBullmqRedis !== null)
      add(
        `jobs/s ×1, ${sv.server}`,
        one.median,
        `BullMQ Redis ${r.bullmqRedis.median}`,
        `${fx(sv.ratios.vsBullmqRedis)}×`,
        '≥ 0.8×',
        sv.ratios.vsBullmqRedis >= 0.8,
      );
    add(
      `jobs/s ×2, ${sv.server}`,
      sv.taskfleet2.median,
      `×1 ${one.median}`,
      `${fx(sv.ratios.twoVsOne)}×`,
      '≥ 1.3×',
      sv.ratios.twoVsOne >= 1.3,
    );
    if (sv.taskfleet1Limited)
      add(
        `jobs/s ×1 with a queue concurrency limit, ${sv.server}`,
        sv.taskfleet1Limited.median,
        `unlimited ${one.median}`,
        `${fx(sv.ratios.limitedVsUnlimited)}×`,
        '≥ 0.9×',
        sv.ratios.limitedVsUnlimited >= 0.9,
      );
    add(`PG CPU-s /100k, ${sv.server}`, one.postgresCpuPer100k, '', '', '≤ 6', one.postgresCpuPer100k <= 6);
    add(`worker RSS MB, ${sv.server}`, one.maxRssMb, '', '', '< 150', one.maxRssMb < 150);
  }
}

function latencyRows(r: any, add: Add): void {
  add('idle pickup p50 ms', r.idlePickupMs.p50, '', '', '≤ 5', r.idlePickupMs.p50 <= 5);
  add('idle pickup p99 ms', r.idlePickupMs.p99, '', '', '≤ 25', r.idlePickupMs.p99 <= 25);
}

function priorityRows(r: any, add: Add): void {
  add('critical p99 ms', r.criticalPickupUnderSaturationMs.p99, '', '', '≤ 100', r.criticalPickupUnderSaturationMs.p99 <= 100);
}

function e2eRows(r: any, add: Add): void {
  add('enqueue→complete p99 ms', r.endToEndMs.p99, `${r.options?.rate ?? '?'} req/s offered`, '', '≤ 50', r.endToEndMs.p99 <= 50);
}

function backlogRows(r: any, add: Add): void {
  add('ingest req/s', r.full.ingest.rps, `small queue ${r.empty.ingest.rps}`, r.ratio.ingest.toFixed(2), '≥ 0.80', r.ratio.ingest >= 0.8);
  add('drain jobs/s', r.full.drain, `small queue ${r.empty.drain}`, fx(r.ratio.drain), '≥ 0.80', r.ratio.drain >= 0.8);
  add('scrape max ms', r.full.metrics.scrapeMs.max, '', '', '< 100', r.full.metrics.scrapeMs.max < 100);
  const q = r.full.metrics.queryMs;
  add(
    'queue snapshot p50 ms',
    q.p50,
    `max ${fx(q.max, 1)} of ${q.n}; small queue p50 ${fx(r.empty.metrics.queryMs.p50, 1)}`,
    '',
    '≤ 50',
    q.p50 <= 50,
  );
}

function groupsRows(r: any, add: Add): void {
  const row = (what: string) => r.rows.find((x: { contender: string }) => x.contender.startsWith(what));
  const ours = row('taskfleet claim, groupConcurrency');
  const theirs = row('pg-boss fetch');
  const plain = row('taskfleet claim, no group limit');
  if (!ours || !theirs) return;
  add(
    `claim ms (median) with ${r.backlog.toLocaleString('en-US')} of one group at its limit`,
    ours.p50,
    `pg-boss fetch({ groupConcurrency }) ${theirs.p50}; unlimited claim ${plain?.p50 ?? '–'}`,
    `${fx(theirs.p50 / ours.p50)}× faster`,
    '',
    null,
  );
}

/** One group of rows per server: A's drain next to a busy B and at a deep backlog, own table vs job_common (no targets). */
function partitionsRows(r: any, add: Add): void {
  for (const sv of r.servers ?? []) {
    const n = sv.neighbour;
    add(
      `A next to busy B, jobs/s own table, ${sv.server}`,
      n.own.median,
      `job_common ${n.shared.median}`,
      `${fx(n.ownVsShared)}×`,
      '',
      null,
    );
    if (sv.deep)
      add(
        `A with ${sv.deep.own.queued.toLocaleString('en-US')} queued, jobs/s own table, ${sv.server}`,
        sv.deep.own.jobsPerSecond,
        `job_common ${sv.deep.shared.jobsPerSecond}`,
        `${fx(sv.deep.ownVsShared)}×`,
        '',
        null,
      );
  }
}

/** Status reads with a streaming replica against the primary alone (no targets). */
function replicaReadsRows(r: any, add: Add): void {
  add('status reads/s with a replica', r.replica.rps, `primary only ${r.primary.rps}`, `${fx(r.ratio.rps)}×`, '', null);
  add(
    "primary's PostgreSQL CPU µs/read with a replica",
    r.replica.primaryCpuUsPerRequest,
    `primary only ${r.primary.primaryCpuUsPerRequest}`,
    `${fx(r.ratio.primaryCpu)}×`,
    '',
    null,
  );
}

/** The rows each scenario contributes, read from its result JSON; scenarios not listed contribute none. */
const ROWS = new Map<string, (r: any, add: Add) => void>([
  ['ingest', ingestRows],
  ['ingest-batch', ingestBatchRows],
  ['drain', drainRows],
  ['latency', latencyRows],
  ['priority', priorityRows],
  ['e2e', e2eRows],
  ['backlog', backlogRows],
  ['groups', groupsRows],
  ['partitions', partitionsRows],
  ['replica-reads', replicaReadsRows],
]);

export function summaryRows(dir: string, scenarios: string[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const name of scenarios) {
    const r = readResult(dir, name);
    if (!r) continue;
    ROWS.get(name)?.(r, (figure, value, baseline, ratio, target, met) =>
      rows.push({ scenario: name, figure, value: String(value), baseline, ratio, target, met: met === null ? '' : yes(met) }),
    );
  }
  return rows;
}
