/**
 * Opening the shard map for an app process: one started pg-boss (its own pool, and LISTEN
 * connection when asked) per primary, each checked to be at this release's schema, and a read
 * router per shard (replicas when configured). Stopping stops them all.
 *
 * The home shard's primary must answer at start (API keys live there): otherwise the start fails
 * and the supervisor retries. Another shard's primary that does not answer is opened anyway — its
 * requests fail as "database unavailable" (503 for that shard only) and its worker loops back off —
 * and its pg-boss start is retried in the background until it answers. A replica that does not
 * answer is skipped until a probe finds it healthy.
 */
import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.ts';
import { type BossOptions, createBoss, type Role } from '../db.ts';
import type { Logger } from '../logger.ts';
import { startBoss } from '../startup.ts';
import { executorOf } from '../store/executor.ts';
import type { ReadRouter } from './read-router.ts';
import { isDatabaseUnavailable } from './unavailable.ts';
import { countedPrimaryReads, openReplicaReads } from './replicas.ts';
import { type Shard, ShardSet } from './shard-set.ts';

export interface OpenShardsOptions {
  config: Config;
  role: Role;
  logger: Logger;
  /** pg-boss options for this role (pool size per shard, maintenance, LISTEN). */
  boss: Omit<BossOptions, 'config' | 'role' | 'logger' | 'url'>;
}

export interface OpenShards {
  shards: ShardSet;
  stop(options?: Parameters<PgBoss['stop']>[0]): Promise<void>;
}

export async function openShards({ config, role, logger, boss: options }: OpenShardsOptions): Promise<OpenShards> {
  const specs = config.database.shards;
  if (specs.length === 0) throw new Error('no database configured: set DATABASE_URL or DATABASE_SHARDS');
  const sharded = specs.length > 1;
  const opened: Shard[] = [];
  const retries: { cancel(): void }[] = [];
  const stopAll = async (stopOptions?: Parameters<PgBoss['stop']>[0]) => {
    for (const r of retries) r.cancel();
    await Promise.all(
      opened.map(async (s) => {
        await s.reads.close();
        await s.boss.stop(stopOptions ?? { graceful: false, close: true });
      }),
    );
  };
  try {
    for (const spec of specs) {
      const instance = sharded ? [options.instance, `s${spec.id}`].filter(Boolean).join('-') : options.instance;
      const boss = createBoss({
        ...options,
        config,
        role,
        logger: logger.child({ shard: spec.id }),
        url: spec.url,
        ...(instance ? { instance } : {}),
      });
      try {
        await startBoss(boss, logger);
      } catch (err) {
        if (spec !== specs[0] && isDatabaseUnavailable(err)) {
          retries.push(retryStart(boss, logger.child({ shard: spec.id }), err));
        } else {
          // Started but refused (schema behind): stop it, or its pool and timers keep the process alive.
          await boss.stop({ graceful: false, close: true }).catch(() => undefined);
          throw err;
        }
      }
      const executeSql = executorOf(boss);
      let reads: ReadRouter = countedPrimaryReads(spec.id, executeSql);
      try {
        if (spec.readUrls.length > 0)
          reads = await openReplicaReads({
            shardId: spec.id,
            primary: executeSql,
            readUrls: spec.readUrls,
            config,
            role,
            logger,
            // Small: a replica pool serves only reads, and each replica of the shard has one.
            max: Math.max(2, Math.ceil(options.max / 2)),
            ...(options.instance ? { instance: options.instance } : {}),
          });
      } finally {
        opened.push({ id: spec.id, boss, executeSql, reads });
      }
    }
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
  return { shards: new ShardSet(opened), stop: stopAll };
}

/**
 * pg-boss's start for a primary that did not answer at start-up, again with backoff (1 s doubling to
 * 30 s) until it does. Meanwhile its pool exists (pg-boss opened it before failing), so statements
 * fail fast as unavailable and succeed once the server answers.
 */
function retryStart(boss: PgBoss, logger: Logger, first: unknown): { cancel(): void } {
  logger.warn({ err: first }, 'shard primary unreachable at start: its requests answer 503 and its work waits until it answers');
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const attempt = (delayMs: number) => {
    timer = setTimeout(async () => {
      try {
        await startBoss(boss, logger);
        if (!cancelled) logger.info('shard primary answers: started');
      } catch (err) {
        if (cancelled) return;
        if (!isDatabaseUnavailable(err)) logger.error({ err }, 'shard primary answers but cannot be used; retrying');
        attempt(Math.min(30_000, delayMs * 2));
      }
    }, delayMs);
    timer.unref();
  };
  attempt(1_000);
  return {
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}
