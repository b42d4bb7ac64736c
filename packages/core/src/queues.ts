/**
 * Queue naming rule: one pg-boss queue per task type, named exactly like the task type, and its
 * dead-letter queue beside it with the `.dead` suffix. Task type names are lower-case dotted
 * identifiers (`http.request`), so a dead-letter name can never collide with a task type.
 */
export const TASK_NAME_PATTERN = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/;
export const MAX_TASK_NAME_LENGTH = 100;
const DEAD_LETTER_SUFFIX = '.dead';

export function isValidTaskName(name: string): boolean {
  return name.length <= MAX_TASK_NAME_LENGTH && TASK_NAME_PATTERN.test(name) && !name.endsWith(DEAD_LETTER_SUFFIX);
}

/** The pg-boss queue that holds tasks of this type. */
export function queueNameFor(taskName: string): string {
  return taskName;
}

/** The dead-letter queue beside a task type's queue. */
export function deadLetterQueueFor(taskName: string): string {
  return `${queueNameFor(taskName)}${DEAD_LETTER_SUFFIX}`;
}

export function isDeadLetterQueue(queue: string): boolean {
  return queue.endsWith(DEAD_LETTER_SUFFIX);
}
