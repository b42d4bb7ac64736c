/**
 * The databases for local commands: DATABASE_URL / DATABASE_SHARDS when set, otherwise embedded
 * PostgreSQL under .data/ — EMBEDDED_PG_SHARDS primaries (default 1, in EMBEDDED_PG_DIR itself as
 * always) with EMBEDDED_PG_READ_REPLICAS streaming replicas each (default 0; embedded-topology.ts).
 */
import type { Config, Logger, ShardSpec } from '@taskfleet/core';
import { redactUrl } from '@taskfleet/core';
import { runningPostmaster } from './embedded-postgres.ts';
import { startEmbeddedTopology, topologyLayout } from './embedded-topology.ts';

export interface LocalDatabase {
  /** The home shard's primary (API keys live there). */
  url: string;
  /** The shard map children get (`shardMapEnv`). */
  shards: ShardSpec[];
  embedded: boolean;
  /** Stops the embedded servers (no-op for DATABASE_URL). */
  stop(): Promise<void>;
  /** Resolves if an embedded primary exits on its own (never for DATABASE_URL). */
  exited: Promise<number | null>;
}

export interface LocalDatabaseOptions {
  /**
   * For one-shot commands (migrate, apikey): when the embedded servers are already running (a
   * `npm start` in another terminal), use them and leave them running. The supervisor does not
   * share: it owns the servers and restarts ones left behind by a killed supervisor.
   */
  shareRunning?: boolean;
  /** Only the home shard's primary (apikey). */
  homeOnly?: boolean;
  /** Start the streaming replicas too (the supervisor); one-shot commands need only primaries. */
  replicas?: boolean;
}

export async function localDatabase(
  config: Config,
  logger: Logger,
  { shareRunning = false, homeOnly = false, replicas = false }: LocalDatabaseOptions = {},
): Promise<LocalDatabase> {
  const never = new Promise<number | null>(() => {});
  if (config.database.url) {
    const shards = homeOnly ? config.database.shards.slice(0, 1) : config.database.shards;
    logger.info(
      { database: redactUrl(config.database.url), ...(shards.length > 1 ? { shards: shards.length } : {}) },
      config.database.shards.length > 1 ? 'using DATABASE_SHARDS' : 'using DATABASE_URL',
    );
    return { url: config.database.url, shards, embedded: false, stop: async () => {}, exited: never };
  }
  const { dataDir, port, readReplicas } = config.embedded;
  const count = homeOnly ? 1 : config.embedded.shards;
  const layout = topologyLayout(dataDir, port, count, readReplicas);
  if (shareRunning) {
    const running = await Promise.all(layout.map((s) => runningPostmaster(s.dataDir)));
    if (running.every(Boolean)) {
      const shards = layout.map((s) => ({ id: s.id, url: `postgres://postgres@127.0.0.1:${s.port}/postgres`, readUrls: [] }));
      logger.info({ dataDir, shards: count }, 'using the embedded PostgreSQL that is already running');
      return { url: (shards[0] as ShardSpec).url, shards, embedded: true, stop: async () => {}, exited: never };
    }
    if (running.some(Boolean))
      throw new Error(
        `only some of the ${count} embedded PostgreSQL shards are running (${layout
          .filter((_, i) => !running[i])
          .map((s) => s.dataDir)
          .join(', ')} is not): ` + 'stop the running `npm start`, or run this command with its EMBEDDED_PG_SHARDS',
      );
  }
  const topology = await startEmbeddedTopology({
    baseDir: dataDir,
    basePort: port,
    shards: count,
    replicasPerShard: readReplicas,
    startReplicas: replicas && !homeOnly,
    onLog: (line, server) => logger.debug({ postgres: line, server }, 'postgres'),
    onStarted: (server, how, ms) =>
      logger.info(
        { server: server.name, dataDir: server.dataDir, port: server.port, created: how !== 'reused', ms },
        how === 'created'
          ? 'embedded PostgreSQL created and started'
          : how === 'reused'
            ? 'embedded PostgreSQL started (reusing data)'
            : 'embedded PostgreSQL streaming replica made from a base backup and started',
      ),
  });
  const shards = topology.specs;
  return {
    url: (shards[0] as ShardSpec).url,
    shards,
    embedded: true,
    stop: () => topology.stop(),
    exited: topology.exited.then(({ shard, code }) => {
      if (shards.length > 1) logger.error({ shard, code }, 'an embedded PostgreSQL primary exited');
      return code;
    }),
  };
}
