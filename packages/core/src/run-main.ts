/**
 * The start-up both apps share (their `main.ts` files are thin): configuration from the environment,
 * the logger, the task modules, a started pg-boss on a schema this release can use, then the app;
 * SIGTERM/SIGINT run the app's stop; a start-up error exits at once with a message that names it.
 */
import { flushCompileCache } from 'node:module';
import type { PgBoss } from 'pg-boss';
import type { Config } from './config.ts';
import { loadConfig } from './config.ts';
import type { BossOptions, Role } from './db.ts';
import { exitOnStartupError, handleShutdownSignals } from './lifecycle.ts';
import { createLogger, type Logger } from './logger.ts';
import { loadTaskModules, type TaskModuleEntry } from './tasks/modules.ts';
import { openShards } from './topology/open.ts';
import type { ShardSet } from './topology/shard-set.ts';

export interface AppStart {
  config: Config;
  logger: Logger;
  /** The home shard's pg-boss (`shards.home.boss`). */
  boss: PgBoss;
  /** Every shard (one when DATABASE_SHARDS is unset). */
  shards: ShardSet;
  /** The entries of TASK_MODULES, loaded and registered. */
  taskModules: TaskModuleEntry[];
}

export interface MainOptions {
  role: Extract<Role, 'api' | 'worker'>;
  /** Fixed fields on every log line (the worker's replica id). */
  logBase?: (config: Config) => Record<string, unknown>;
  /** pg-boss options for this role (pool size per shard, maintenance, LISTEN). */
  boss: (config: Config) => Omit<BossOptions, 'config' | 'role' | 'logger'>;
  /** Start the app; returns what a shutdown signal runs (after which pg-boss is stopped). */
  start: (app: AppStart) => Promise<() => Promise<void>>;
  /** How pg-boss stops after the app's own stop. */
  bossStop?: Parameters<PgBoss['stop']>[0];
}

export async function runMain(options: MainOptions): Promise<void> {
  // Image build (`taskfleet precompile`): this app's modules are all loaded by now. Write them to
  // Node's compile cache (NODE_COMPILE_CACHE) and stop, so the image's first process starts warm.
  if (process.env.TASKFLEET_PRECOMPILE === '1') {
    flushCompileCache?.();
    return;
  }
  let logger: Logger | undefined;
  try {
    const config = loadConfig(process.env);
    logger = createLogger({ role: options.role, config, ...(options.logBase ? { base: options.logBase(config) } : {}) });
    const log = logger;
    const taskModules = await loadTaskModules(config.taskModules);
    const opened = await openShards({ config, role: options.role, logger, boss: options.boss(config) });
    const { shards } = opened;
    const stop = await options.start({ config, logger, boss: shards.home.boss, shards, taskModules });
    // Started: every module is loaded. Write them to Node's compile cache now (when NODE_COMPILE_CACHE
    // is on), not at exit, so the next replica or restart starts without the TypeScript stripper.
    flushCompileCache?.();
    handleShutdownSignals(logger, async () => {
      await stop();
      await opened.stop(options.bossStop ?? { graceful: false, close: true });
      log.info(`${options.role} process stopped`);
    });
  } catch (err) {
    exitOnStartupError(logger, err);
  }
}
