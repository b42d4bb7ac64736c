/**
 * Process lifecycle for the apps: the first SIGTERM/SIGINT starts a graceful shutdown, a second one
 * forces exit; an uncaught error is logged with context and exits non-zero (the supervisor or the
 * orchestrator restarts the process).
 */
import type { Logger } from './logger.ts';

export function handleShutdownSignals(logger: Logger, shutdown: (signal: string) => Promise<void>): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: forcing exit');
      process.exit(130);
    }
    shuttingDown = true;
    logger.info({ signal }, 'shutting down gracefully');
    shutdown(signal).then(
      () => {
        logger.info('stopped');
        logger.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'graceful shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Started by the local supervisor (`npm start`) with an IPC channel: if the supervisor dies, drain
  // and exit instead of running on as an orphan.
  if (process.channel) {
    process.channel.unref();
    process.on('disconnect', () => onSignal('SIGTERM'));
  }
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
}

/** Print a startup failure (config or schema) plainly and exit 1. */
export function exitOnStartupError(logger: Logger | undefined, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  if (logger) logger.fatal({ err }, `cannot start: ${message}`);
  else console.error(`cannot start: ${message}`);
  process.exit(1);
}
