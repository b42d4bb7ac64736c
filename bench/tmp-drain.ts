import { benchDatabase, startProcess } from './lib/env.ts';
import { countState, prefill, withClient } from './lib/jobs.ts';
const N = Number(process.env.N ?? 50000);
const db = await benchDatabase();
await prefill(db.url, 'noop', N);
if (process.env.BENCH_PGSS) await withClient(db.url, async (c) => { await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'); await c.query('SELECT pg_stat_statements_reset()'); });
const t0 = performance.now();
const p = await startProcess('apps/worker/src/main.ts', { DATABASE_URL: db.url, NODE_OPTIONS: process.env.PROF_OPTS ?? '', ...(process.env.WENV ? Object.fromEntries(process.env.WENV.split(',').map((kv) => kv.split('='))) : {}) }, '/readyz');
let rss = 0;
await withClient(db.url, async (c) => {
  for (;;) {
    rss = Math.max(rss, await p.rssMb());
    if ((await countState(c, 'noop', 'completed')) >= N) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});
const s = (performance.now() - t0) / 1000;
await withClient(db.url, async (c) => { const { rows } = await c.query(`SELECT date_trunc('second', completed_on) AS sec, count(*)::int AS n FROM pgboss.job WHERE name='noop' GROUP BY 1 ORDER BY 1`); console.log('per second:', rows.map((r) => r.n).join(' ')); const st = await c.query(`SELECT extract(epoch FROM min(started_on) - min(created_on))::float8 AS startup FROM pgboss.job WHERE name='noop'`); console.log('first start after prefill+', st.rows[0].startup); });
const m = await (await fetch(p.url + '/metrics')).text();
console.log(`${N} in ${s.toFixed(2)} s → ${Math.round(N / s)} jobs/s, max RSS ${Math.round(rss)} MB`);
console.log(m.split('\n').filter((l) => /heap_size|external_memory|eventloop_lag_p99/.test(l) && !l.startsWith('#')).join('\n'));
if (process.env.BENCH_PGSS) await withClient(db.url, async (c) => { const { rows } = await c.query(`SELECT calls, round(total_exec_time::numeric,1) AS total_ms, round(mean_exec_time::numeric,3) AS mean_ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 8`); console.table(rows); console.table((await c.query(`SELECT relname, n_live_tup, n_dead_tup, autovacuum_count, vacuum_count, last_autovacuum FROM pg_stat_user_tables WHERE relname = 'job_common'`)).rows); console.log((await c.query(`SELECT reloptions FROM pg_class WHERE relname = 'job_common'`)).rows[0]); });
await p.stop();
await db.stop();
