/**
 * Queue definitions follow the task registry: one pg-boss queue per task type with the type's
 * defaults, and a dead-letter queue beside it. `syncQueues` creates missing queues and updates
 * existing ones; the migration runner calls it, so the apps only check that the queues exist.
 */
import type { PgBoss, Queue } from 'pg-boss';
import type { Logger } from './logger.ts';
import { deadLetterQueueFor, queueNameFor } from './queues.ts';
import { executorOf } from './store/executor.ts';
import { seedQueueSettings } from './store/queue-settings.ts';
import type { TaskDefinition } from './tasks/define.ts';
import { allTasks } from './tasks/registry.ts';

/** Dead-lettered tasks wait this long for an operator (redrive or delete) before pg-boss drops them. */
export const DEAD_LETTER_RETENTION_SECONDS = 90 * 24 * 3600;
/** Margin past a task's own timeout before pg-boss itself expires a silent active job. */
export const EXPIRY_MARGIN_SECONDS = 30;

type QueueOptions = Omit<Queue, 'name'>;

export function queueOptionsFor(def: TaskDefinition): QueueOptions {
  const d = def.defaults;
  return {
    retryLimit: d.maxAttempts - 1,
    retryDelay: d.retryDelaySeconds,
    retryBackoff: d.retryBackoff,
    // pg-boss refuses a ceiling without backoff (a fixed delay has nothing to cap).
    ...(d.retryBackoff ? { retryDelayMax: d.retryDelayMaxSeconds } : {}),
    expireInSeconds: d.timeoutSeconds + EXPIRY_MARGIN_SECONDS,
    retentionSeconds: d.retentionSeconds,
    deleteAfterSeconds: d.deleteAfterSeconds,
    ...(d.deadLetter ? { deadLetter: deadLetterQueueFor(def.name) } : {}),
    heartbeatSeconds: d.heartbeatSeconds,
    notify: true,
  };
}

export function deadLetterQueueOptions(): QueueOptions {
  return {
    retryLimit: 0,
    retentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
    deleteAfterSeconds: DEAD_LETTER_RETENTION_SECONDS,
    notify: false,
  };
}

/** Every queue name the registry implies, dead-letter queues included. */
export function expectedQueueNames(tasks: Record<string, TaskDefinition> = allTasks()): string[] {
  return Object.values(tasks).flatMap((def) =>
    def.defaults.deadLetter ? [queueNameFor(def.name), deadLetterQueueFor(def.name)] : [queueNameFor(def.name)],
  );
}

async function upsertQueue(boss: PgBoss, name: string, options: QueueOptions, logger: Logger): Promise<void> {
  const existing = await boss.getQueue(name);
  if (!existing) {
    await boss.createQueue(name, options);
    logger.info({ queue: name }, 'created queue');
  } else {
    await boss.updateQueue(name, options);
  }
}

export async function syncQueues(boss: PgBoss, logger: Logger, tasks: Record<string, TaskDefinition> = allTasks()): Promise<void> {
  for (const def of Object.values(tasks)) {
    if (def.defaults.deadLetter) await upsertQueue(boss, deadLetterQueueFor(def.name), deadLetterQueueOptions(), logger);
    await upsertQueue(boss, queueNameFor(def.name), queueOptionsFor(def), logger);
    if (def.flowControl && (await seedQueueSettings(executorOf(boss), queueNameFor(def.name), def.flowControl))) {
      logger.info({ queue: def.name, settings: def.flowControl }, "queue settings seeded from the task type's flowControl");
    }
  }
}

/** Names of expected queues that do not exist in the database. */
export async function missingQueues(boss: PgBoss, tasks: Record<string, TaskDefinition> = allTasks()): Promise<string[]> {
  const expected = expectedQueueNames(tasks);
  const present = new Set((await boss.getQueues(expected)).map((q) => q.name));
  return expected.filter((n) => !present.has(n));
}
