/** Queue names and task ids from the URL, checked against the task registry (no Hono, no SQL). */
import { getTaskDefinition, isDeadLetterQueue, type TaskDefinition } from '@taskfleet/core';
import { problems } from './problem.ts';

/** Either case; spelled without the `i` flag so the pattern reads the same in the OpenAPI document. */
export const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A task type's queue, or its dead-letter queue. */
export function knownQueue(queue: string): boolean {
  return (
    getTaskDefinition(queue) !== undefined || (isDeadLetterQueue(queue) && getTaskDefinition(queue.slice(0, -'.dead'.length)) !== undefined)
  );
}

export function requireQueue(queue: string): void {
  if (!knownQueue(queue)) throw problems.notFound(`There is no queue named ${JSON.stringify(queue)}.`);
}

/** The task type of a queue tasks can be submitted to (not a dead-letter queue). */
export function requireTaskType(queue: string): TaskDefinition {
  const def = getTaskDefinition(queue);
  if (!def) {
    if (knownQueue(queue)) throw problems.notFound(`${queue} is a dead-letter queue; tasks cannot be submitted to it.`);
    throw problems.notFound(`There is no queue named ${JSON.stringify(queue)}.`);
  }
  return def;
}

/** A task type clients may submit to: not a dead-letter queue, not an internal type (callback deliveries). */
export function requireSubmittable(queue: string): TaskDefinition {
  const def = requireTaskType(queue);
  if (def.internal) throw problems.notFound(`${queue} is an internal queue: the fleet makes its tasks; they cannot be submitted.`);
  return def;
}

export function requireTaskId(id: string): string {
  if (!UUID.test(id)) throw problems.notFound('No task has this id (task ids are UUIDs).');
  return id.toLowerCase();
}
