/**
 * Smoke run of the peer baselines: each drain function once, 20,000 jobs (or argv[2]), in a scratch
 * database on the local PostgreSQL (PEER_TRY_ADMIN_URL overrides it) that is dropped afterwards.
 *   node bench/peers/try.ts [jobs]
 * The figures are only indicative: nothing else on the machine is controlled.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { drainBullmqPostgres, drainBullmqRedis } from './bullmq.ts';
import { drainGraphile, type PeerDrainResult } from './graphile.ts';

const adminUrl = process.env.PEER_TRY_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const jobs = Number(process.argv[2] ?? 20_000);
const name = `peer_try_${randomBytes(4).toString('hex')}`;
const log = (l: string) => console.error(l);

async function admin(sql: string): Promise<void> {
  const client = new pg.Client(adminUrl);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function show(r: PeerDrainResult): void {
  if (r.skipped) {
    console.log(`${r.peer}: skipped (${r.skipped})`);
    return;
  }
  const cpu = r.postgresCpuSeconds === undefined ? '' : `, postgres CPU ${r.postgresCpuSeconds.toFixed(2)} s`;
  console.log(
    `${r.peer}: ${r.jobs} jobs in ${r.seconds.toFixed(2)} s = ${Math.round(r.jobsPerSecond)} jobs/s${cpu}  ${JSON.stringify(r.settings)}`,
  );
}

await admin(`CREATE DATABASE ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
try {
  show(await drainGraphile(url.toString(), jobs, log));
  show(await drainBullmqRedis(jobs, log));
  show(await drainBullmqPostgres(url.toString(), jobs, log));
} finally {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
