/**
 * Same-run peer baselines: BullMQ 6.7 draining a backlog of no-op jobs, on Redis and on its
 * PostgreSQL backend.
 *
 * Where the settings come from (BullMQ's docs, https://docs.bullmq.io):
 * - concurrency 100 (guide/workers/concurrency: the local concurrency factor of one Worker);
 * - removeOnComplete { count: 0 }, removeOnFail { count: 5000 } (guide/workers/auto-removal-of-jobs:
 *   "Remove all finalized jobs" with { count: 0 }, and keep "a much larger value of failed jobs";
 *   guide/postgresql, tuning tips: "Let retention do its work"). Completed jobs are deleted as they
 *   finish, as graphile-worker does. Measured on the PostgreSQL backend (10,000 jobs): keeping every
 *   completed job was ~20% faster (but grows the table without bound), the docs' other example,
 *   keeping the last 1000 ({ count: 1000 }), about half as fast (2-3x the database CPU per job; one
 *   trial also logged "deadlock detected"), so neither is used;
 * - addBulk for the fill (guide/postgresql, "Performance": bulk enqueues insert many jobs per round trip);
 * - PostgreSQL backend (guide/postgresql): `createPostgresBackend` as the constructors' last
 *   argument, a pool config `{ connectionString, schema, max }` as `connection`, `migrate: true`
 *   to create the schema (PostgresPoolConfig in dist/esm/postgres/postgres-connection.d.ts), and a
 *   pool `max` "enough for its concurrency" within the server's max_connections (tuning tips).
 * Everything else stays at BullMQ's defaults (drainDelay, lockDuration, stalledInterval, ...).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { createPostgresBackend, Queue, Worker } from 'bullmq';
import pg from 'pg';
import { postgresCpuSeconds } from '../lib/env.ts';
import { FILL_BATCH, type PeerDrainResult, watchCompletions } from './common.ts';

const REDIS = { host: '127.0.0.1', port: 6379 };
/**
 * The PostgreSQL pool size of each BullMQ backend (Queue, Worker). The drain is bound by the
 * database's CPU: pools of 10, 20, 25 and 50 (and concurrency 24) measured within ~10% of each other.
 */
const PG_POOL_MAX = 20;

const WORKER = {
  concurrency: 100,
  removeOnComplete: { count: 0 },
  removeOnFail: { count: 5000 },
};

/** Whether a Redis server answers PING on 127.0.0.1:6379 within 1 s. */
export function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(REDIS);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** What drain() uses of a Queue and a Worker, whichever their backend. */
interface FillQueue {
  addBulk(jobs: { name: string; data: object }[]): Promise<unknown>;
}
interface DrainWorker {
  on(event: 'completed', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'failed', listener: (job: unknown, err: Error) => void): unknown;
  waitUntilReady(): Promise<unknown>;
  run(): Promise<unknown>;
  close(): Promise<void>;
}

/** The backend-agnostic part: fill with addBulk, then time one Worker from run() to the last 'completed' event. */
async function drain(
  label: string,
  queue: FillQueue,
  makeWorker: (processor: () => Promise<void>) => DrainWorker,
  jobs: number,
  log: (l: string) => void,
  measureCpu: boolean,
): Promise<{ seconds: number; postgresCpuSeconds?: number }> {
  const fillStart = performance.now();
  for (let done = 0; done < jobs; done += FILL_BATCH) {
    const n = Math.min(FILL_BATCH, jobs - done);
    await queue.addBulk(Array.from({ length: n }, () => ({ name: 'noop', data: {} })));
  }
  log(`${label}: filled ${jobs} jobs in ${((performance.now() - fillStart) / 1000).toFixed(2)} s`);

  const worker = makeWorker(async () => {});
  let running: Promise<unknown> = Promise.resolve();
  try {
    const watch = watchCompletions(label, jobs);
    // 'completed' is emitted once the job has been moved to completed in the datastore.
    worker.on('completed', () => watch.completed());
    worker.on('error', (err) => log(`${label} worker error: ${err.message}`));
    worker.on('failed', (_job, err) => log(`${label} job failed: ${err.message}`));
    await worker.waitUntilReady();
    const cpuBefore = measureCpu ? await postgresCpuSeconds() : 0;
    const start = performance.now();
    watch.start();
    running = worker.run().catch((err: Error) => watch.fail(err));
    try {
      await watch.done;
    } finally {
      watch.stop();
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = measureCpu ? (await postgresCpuSeconds()) - cpuBefore : undefined;
    return { seconds, ...(cpu === undefined ? {} : { postgresCpuSeconds: cpu }) };
  } finally {
    await worker.close();
    await running;
  }
}

/** BullMQ on the Redis at 127.0.0.1:6379; skipped when none answers there. */
export async function drainBullmqRedis(jobs: number, log: (l: string) => void): Promise<PeerDrainResult> {
  const peer = 'bullmq@6.7.0 (Redis)';
  const settings = { ...WORKER, fillBatch: FILL_BATCH, redis: `${REDIS.host}:${REDIS.port}` };
  if (!(await redisAnswers())) {
    return { peer, jobs, seconds: 0, jobsPerSecond: 0, settings, skipped: 'no Redis on 127.0.0.1:6379' };
  }
  const name = `taskfleet-peer-${randomBytes(4).toString('hex')}`;
  // Connection options rather than a shared ioredis instance: BullMQ then opens its own connections
  // with the settings it needs (maxRetriesPerRequest: null for the Worker's blocking connection).
  const queue = new Queue(name, { connection: REDIS });
  try {
    const { seconds } = await drain(
      'bullmq redis',
      queue,
      (processor) => new Worker(name, processor, { connection: REDIS, autorun: false, ...WORKER }),
      jobs,
      log,
      false,
    );
    return { peer, jobs, seconds, jobsPerSecond: jobs / seconds, settings };
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/**
 * BullMQ 6's PostgreSQL backend (`createPostgresBackend`), on `url`, in a schema of
 * its own that is created by BullMQ's migrations and dropped at the end.
 */
export async function drainBullmqPostgres(url: string, jobs: number, log: (l: string) => void): Promise<PeerDrainResult> {
  const schema = `bullmq_bench_${randomBytes(4).toString('hex')}`;
  const connection = { connectionString: url, schema, max: PG_POOL_MAX, migrate: true };
  const name = 'taskfleet-peer';
  const queue = new Queue(name, { connection }, createPostgresBackend);
  try {
    const { seconds, postgresCpuSeconds } = await drain(
      'bullmq postgres',
      queue,
      (processor) => new Worker(name, processor, { connection, autorun: false, ...WORKER }, createPostgresBackend),
      jobs,
      log,
      true,
    );
    return {
      peer: 'bullmq@6.7.0 (PostgreSQL backend)',
      jobs,
      seconds,
      jobsPerSecond: jobs / seconds,
      ...(postgresCpuSeconds === undefined ? {} : { postgresCpuSeconds }),
      settings: { ...WORKER, fillBatch: FILL_BATCH, poolMax: PG_POOL_MAX, schema: 'own, dropped after' },
    };
  } finally {
    try {
      await queue.obliterate({ force: true });
      await queue.close();
    } finally {
      const admin = new pg.Client(url);
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  }
}
