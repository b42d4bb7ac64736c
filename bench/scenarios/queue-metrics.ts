/**
 * queue-metrics: the cost of the queue gauges with a large backlog — the snapshot query (run by one
 * replica per interval) and a /metrics scrape of an API replica (served from memory) — against the
 * same with an empty queue.
 */
import { computeQueueStats } from '@taskfleet/core';
import { benchDatabase, machineFacts, startProcess, writeResult } from '../lib/env.ts';
import { prefill, summarize, withClient } from '../lib/jobs.ts';

type Log = (line: string) => void;

async function measure(url: string, apiUrl: string) {
  const query: number[] = [];
  await withClient(url, async (c) => {
    const exec = (t: string, v?: unknown[]) => c.query(t, v);
    await computeQueueStats(exec); // warm
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await computeQueueStats(exec);
      query.push(performance.now() - t0);
    }
  });
  const scrape: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await (await fetch(`${apiUrl}/metrics`)).text();
    scrape.push(performance.now() - t0);
  }
  return { queryMs: summarize(query), scrapeMs: summarize(scrape) };
}

export async function runQueueMetrics(opts: { backlog: number }, log: Log) {
  const db = await benchDatabase();
  try {
    const api = await startProcess('apps/api/src/main.ts', { DATABASE_URL: db.url, API_AUTH: 'disabled' });
    try {
      const empty = await measure(db.url, api.url);
      log(`empty: snapshot query p50 ${empty.queryMs.p50} ms, scrape p50 ${empty.scrapeMs.p50} ms`);
      log(`prefilling ${opts.backlog} tasks`);
      await prefill(db.url, 'noop', opts.backlog);
      await withClient(db.url, (c) => c.query('VACUUM ANALYZE pgboss.job_common'));
      const full = await measure(db.url, api.url);
      log(
        `backlog ${opts.backlog}: snapshot query p50 ${full.queryMs.p50} ms (max ${full.queryMs.max}), scrape p50 ${full.scrapeMs.p50} ms (max ${full.scrapeMs.max})`,
      );
      const summary = {
        scenario: 'queue-metrics',
        date: new Date().toISOString(),
        machine: { ...machineFacts(), postgres: db.serverVersion },
        backlog: opts.backlog,
        empty,
        full,
      };
      const file = await writeResult('queue-metrics', summary);
      console.table([
        {
          what: 'snapshot query (ms)',
          empty: empty.queryMs.p50,
          backlog: full.queryMs.p50,
          'backlog max': full.queryMs.max,
          target: '≤ 50',
        },
        {
          what: '/metrics scrape (ms)',
          empty: empty.scrapeMs.p50,
          backlog: full.scrapeMs.p50,
          'backlog max': full.scrapeMs.max,
          target: '≤ 100',
        },
      ]);
      console.log(`results: ${file}`);
    } finally {
      await api.stop();
    }
  } finally {
    await db.stop();
  }
}
