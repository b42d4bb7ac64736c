/** The public JSON shape of a task (status endpoint, listings, enqueue answers). */
import { deadLetterQueueFor, isDeadLetterQueue } from '@taskfleet/core';

export type { TaskView } from '@taskfleet/core';
// Built in packages/core: the worker POSTs the same view to completion callbacks.
export { taskUrl, toTaskView } from '@taskfleet/core';

/** The queue a task of this queue dead-letters into, if it is not itself a dead-letter queue. */
export function deadLetterOf(queue: string): string | null {
  return isDeadLetterQueue(queue) ? null : deadLetterQueueFor(queue);
}
