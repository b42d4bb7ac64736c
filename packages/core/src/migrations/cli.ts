/** The migrate command for deployed images (DATABASE_URL required; no embedded database). */
import { loadConfig } from '../config.ts';
import { exitOnStartupError } from '../lifecycle.ts';
import { createLogger, type Logger } from '../logger.ts';
import { applyMigrations } from './apply.ts';

let logger: Logger | undefined;
try {
  const config = loadConfig(process.env);
  logger = createLogger({ role: 'migrate', config });
  const result = await applyMigrations(config, logger);
  logger.info({ applied: result.applied, adopted: result.adopted, alreadyApplied: result.alreadyApplied }, 'migrations done');
} catch (err) {
  exitOnStartupError(logger, err);
}
