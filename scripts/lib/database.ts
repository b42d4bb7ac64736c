/** The database for local commands: DATABASE_URL when set, otherwise the embedded PostgreSQL under .data/. */
import type { Config, Logger } from '@taskfleet/core';
import { redactUrl } from '@taskfleet/core';
import { runningPostmaster, startEmbeddedPostgres } from './embedded-postgres.ts';

export interface LocalDatabase {
  url: string;
  embedded: boolean;
  /** Stops the embedded server (no-op for DATABASE_URL). */
  stop(): Promise<void>;
  /** Resolves if the embedded server exits on its own (never for DATABASE_URL). */
  exited: Promise<number | null>;
}

/**
 * @param shareRunning For one-shot commands (migrate, apikey): when the embedded server is already
 * running (a `npm start` in another terminal), use it and leave it running. The supervisor does
 * not share: it owns the server and restarts one left behind by a killed supervisor.
 */
export async function localDatabase(config: Config, logger: Logger, { shareRunning = false } = {}): Promise<LocalDatabase> {
  if (config.database.url) {
    logger.info({ database: redactUrl(config.database.url) }, 'using DATABASE_URL');
    return { url: config.database.url, embedded: false, stop: async () => {}, exited: new Promise(() => {}) };
  }
  if (shareRunning && (await runningPostmaster(config.embedded.dataDir))) {
    const url = `postgres://postgres@127.0.0.1:${config.embedded.port}/postgres`;
    logger.info({ dataDir: config.embedded.dataDir }, 'using the embedded PostgreSQL that is already running');
    return { url, embedded: true, stop: async () => {}, exited: new Promise(() => {}) };
  }
  const started = performance.now();
  const pg = await startEmbeddedPostgres({
    dataDir: config.embedded.dataDir,
    port: config.embedded.port,
    onLog: (line) => logger.debug({ postgres: line }, 'postgres'),
  });
  logger.info(
    { dataDir: pg.dataDir, port: pg.port, created: pg.created, ms: Math.round(performance.now() - started) },
    pg.created ? 'embedded PostgreSQL created and started' : 'embedded PostgreSQL started (reusing data)',
  );
  return { url: pg.url, embedded: true, stop: () => pg.stop(), exited: pg.exited };
}
