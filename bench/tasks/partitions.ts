/**
 * The partitions scenario's task types, loaded through TASK_MODULES (by the bench's migrate step and
 * its worker processes): two no-op queues A that differ only in where their jobs live —
 * `bench.shared` in the shared table `pgboss.job_common`, `bench.own` in a table of its own
 * (`partition: true`) — and the busy neighbour B, `bench.busy`, in the shared table.
 */
import { defineTask } from '@taskfleet/core';
import { z } from 'zod';

const common = {
  description: 'Does nothing. Benchmark only.',
  schema: z.strictObject({}),
  defaults: { maxAttempts: 3, retryDelaySeconds: 1, timeoutSeconds: 60 },
};

export const sharedTask = defineTask({ name: 'bench.shared', ...common });
export const ownTask = defineTask({ name: 'bench.own', ...common, partition: true });
export const busyTask = defineTask({ name: 'bench.busy', ...common });

const handle = async () => null;

export const tasks = [sharedTask, ownTask, busyTask].map((definition) => ({ definition, handle }));
