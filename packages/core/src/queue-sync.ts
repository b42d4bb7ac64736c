/**
 * Queue definitions follow the task registry: one pg-boss queue per task type with the type's
 * defaults, and a dead-letter queue beside it. `syncQueues` creates missing queues and updates
 * existing ones; the migration runner calls it, so the apps only check that the queues exist.
 *
 * A type defined with `partition: true` gets its queue created partitioned (a table of its own; its
 * dead-letter queue stays in the shared table: dead letters are few and never claimed). pg-boss fixes
 * that at creation, so for an existing queue whose layout differs from its type's the sync logs a
 * warning with what the operator can do, and leaves the queue as it is: the queue works either way.
 */
import type { PgBoss, Queue } from 'pg-boss';
import type { Logger } from './logger.ts';
import { deadLetterQueueFor, queueNameFor } from './queues.ts';
import { executorOf } from './store/executor.ts';
import { seedQueueSettings } from './store/queue-settings.ts';
import { prepareQueueTable } from './store/queues.ts';
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

/** Where operators read how to move a queue between the shared table and a table of its own. */
export const PARTITION_DOCS = 'docs/operations.md, "Per-queue partitions"';

function warnLayout(logger: Logger, queue: string, table: string, partition: boolean): void {
  if (partition) {
    logger.warn(
      { queue, table: `pgboss.${table}`, partition },
      `queue ${queue} exists in the shared table pgboss.${table}; its task type asks for partition: true, which pg-boss applies only when it creates a queue, so the queue stays where it is (it works as before). To give it a table of its own, see ${PARTITION_DOCS}`,
    );
  } else {
    logger.warn(
      { queue, table: `pgboss.${table}`, partition },
      `queue ${queue} has a table of its own (pgboss.${table}) but its task type does not ask for partition: true; it keeps its table (fixed at creation). See ${PARTITION_DOCS}`,
    );
  }
}

async function upsertQueue(boss: PgBoss, name: string, options: QueueOptions, logger: Logger, partition = false): Promise<void> {
  const existing = await boss.getQueue(name);
  if (!existing) {
    // `partition` goes to createQueue only: pg-boss's updateQueue refuses it.
    await boss.createQueue(name, partition ? { ...options, partition: true } : options);
    logger.info({ queue: name, ...(partition ? { partition } : {}) }, 'created queue');
  } else {
    if (Boolean(existing.partition) !== partition) warnLayout(logger, name, existing.table, partition);
    await boss.updateQueue(name, options);
  }
  const table = await prepareQueueTable(executorOf(boss), name);
  if (table && !existing) logger.info({ queue: name, table: `pgboss.${table}` }, 'queue has a table of its own');
}

export async function syncQueues(boss: PgBoss, logger: Logger, tasks: Record<string, TaskDefinition> = allTasks()): Promise<void> {
  for (const def of Object.values(tasks)) {
    if (def.defaults.deadLetter) await upsertQueue(boss, deadLetterQueueFor(def.name), deadLetterQueueOptions(), logger);
    await upsertQueue(boss, queueNameFor(def.name), queueOptionsFor(def), logger, def.partition === true);
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
