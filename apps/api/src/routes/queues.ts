/** Queue listing with depth by state and the age of the oldest ready task (cached ≤ 2 s). */
import { Hono } from 'hono';
import { deadLetterQueueFor, getTaskDefinition, isDeadLetterQueue } from '@taskfleet/core';
import { problems } from '../problem.ts';
import type { CachedValue } from '../queue-stats.ts';
import type { QueueDepthRow } from '../sql/queues.ts';

function view(row: QueueDepthRow) {
  const def = getTaskDefinition(row.name);
  return {
    name: row.name,
    kind: isDeadLetterQueue(row.name) ? 'dead-letter' : 'tasks',
    description: def?.description ?? null,
    deadLetterQueue: def?.defaults.deadLetter ? deadLetterQueueFor(row.name) : null,
    depth: {
      ready: row.ready,
      scheduled: row.scheduled,
      retrying: row.retrying,
      running: row.running,
      completed: row.completed,
      failed: row.failed,
      cancelled: row.cancelled,
    },
    oldestReadyAgeSeconds: row.oldestReadyAgeSeconds === null ? null : Math.round(row.oldestReadyAgeSeconds * 1000) / 1000,
  };
}

export function queueRoutes(stats: CachedValue<QueueDepthRow[]>): Hono {
  const app = new Hono();
  app.get('/v1/queues', async (c) => c.json({ queues: (await stats.get()).map(view) }));
  app.get('/v1/queues/:queue', async (c) => {
    const row = (await stats.get()).find((r) => r.name === c.req.param('queue'));
    if (!row) throw problems.notFound(`There is no queue named ${JSON.stringify(c.req.param('queue'))}.`);
    return c.json(view(row));
  });
  return app;
}
