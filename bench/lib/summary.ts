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

const yes = (b: boolean) => (b ? 'yes' : 'NO');
/** A ratio for the table; '–' when a side was zero or missing (e.g. quick runs). */
const fx = (v: unknown, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');

export function summaryRows(dir: string, scenarios: string[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const read = (name: string): any =>
    existsSync(path.join(dir, `${name}.json`)) ? JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) : undefined;
  const add = (
    scenario: string,
    figure: string,
    value: number | string,
    baseline: string,
    ratio: string,
    target: string,
    met: boolean | null,
  ) => rows.push({ scenario, figure, value: String(value), baseline, ratio, target, met: met === null ? '' : yes(met) });
  for (const name of scenarios) {
    const r = read(name);
    if (!r) continue;
    if (name === 'ingest' && r.targets?.vsNaive != null) {
      const tf = r.single.taskfleet.find((x: any) => x.connections === 64);
      add(
        name,
        'req/s @64',
        tf.rps,
        `naive ${r.single.naive.find((x: any) => x.connections === 64).rps}`,
        `${fx(r.targets.vsNaive)}×`,
        '≥ 8×',
        r.targets.vsNaive >= 8,
      );
      add(
        name,
        'req/s @64',
        tf.rps,
        `ceiling ${r.single.ceiling.find((x: any) => x.connections === 64).rps}`,
        `${fx(100 * r.targets.vsCeiling, 0)} %`,
        '≥ 40 %',
        r.targets.vsCeiling >= 0.4,
      );
      add(name, 'p99 ms @64', tf.p99, '', '', '≤ 50', tf.p99 <= 50);
    }
    if (name === 'ingest-batch' && r.batch) {
      add(
        name,
        'tasks/s',
        r.batch.tasksPerSecond,
        `boss.insert ${r.batch.rawInsertTasksPerSecond}`,
        `${fx(r.batch.tasksPerSecond / r.batch.rawInsertTasksPerSecond)}×`,
        '≥ 40000',
        r.batch.tasksPerSecond >= 40000,
      );
    }
    if (name === 'drain' && r.servers) {
      for (const sv of r.servers) {
        const one = sv.taskfleet1;
        add(
          name,
          `jobs/s ×1, ${sv.server}`,
          one.median,
          `graphile-worker ${sv.graphile.median}`,
          `${fx(sv.ratios.vsGraphile)}×`,
          '≥ 1.0×',
          sv.ratios.vsGraphile >= 1,
        );
        if (sv.ratios.vsBullmqRedis !== null)
          add(
            name,
            `jobs/s ×1, ${sv.server}`,
            one.median,
            `BullMQ Redis ${r.bullmqRedis.median}`,
            `${fx(sv.ratios.vsBullmqRedis)}×`,
            '≥ 0.8×',
            sv.ratios.vsBullmqRedis >= 0.8,
          );
        add(
          name,
          `jobs/s ×2, ${sv.server}`,
          sv.taskfleet2.median,
          `×1 ${one.median}`,
          `${fx(sv.ratios.twoVsOne)}×`,
          '≥ 1.3×',
          sv.ratios.twoVsOne >= 1.3,
        );
        add(name, `PG CPU-s /100k, ${sv.server}`, one.postgresCpuPer100k, '', '', '≤ 6', one.postgresCpuPer100k <= 6);
        add(name, `worker RSS MB, ${sv.server}`, one.maxRssMb, '', '', '< 150', one.maxRssMb < 150);
      }
    }
    if (name === 'latency') {
      add(name, 'idle pickup p50 ms', r.idlePickupMs.p50, '', '', '≤ 5', r.idlePickupMs.p50 <= 5);
      add(name, 'idle pickup p99 ms', r.idlePickupMs.p99, '', '', '≤ 25', r.idlePickupMs.p99 <= 25);
    }
    if (name === 'priority')
      add(name, 'critical p99 ms', r.criticalPickupUnderSaturationMs.p99, '', '', '≤ 100', r.criticalPickupUnderSaturationMs.p99 <= 100);
    if (name === 'e2e') add(name, 'enqueue→complete p99 ms', r.endToEndMs.p99, '', '', '', null);
    if (name === 'backlog') {
      add(
        name,
        'ingest req/s',
        r.full.ingest.rps,
        `small queue ${r.empty.ingest.rps}`,
        r.ratio.ingest.toFixed(2),
        '≥ 0.80',
        r.ratio.ingest >= 0.8,
      );
      add(name, 'drain jobs/s', r.full.drain, `small queue ${r.empty.drain}`, fx(r.ratio.drain), '≥ 0.80', r.ratio.drain >= 0.8);
      add(name, 'scrape max ms', r.full.metrics.scrapeMs.max, '', '', '< 100', r.full.metrics.scrapeMs.max < 100);
    }
  }
  return rows;
}
