/**
 * Baseline: Hono + BullMQ on Redis — a route that calls `queue.add` once per request (BullMQ's
 * documented way to add one job; Redis persistence as the server has it). Run only when a Redis
 * answers on 127.0.0.1:6379. The queue is this run's own and is obliterated on exit.
 */
import { serve } from '@hono/node-server';
import { Queue } from 'bullmq';
import { Hono } from 'hono';

const queue = new Queue(`taskfleet-bench-ingest-${process.pid}`, { connection: { host: '127.0.0.1', port: 6379 } });
await queue.waitUntilReady();
const app = new Hono();
app.post('/v1/queues/:queue/tasks', async (c) => {
  const body = (await c.req.json()) as { payload: object };
  const job = await queue.add(c.req.param('queue'), { payload: body.payload, meta: { submitter: null } });
  return c.json({ id: job.id, queue: c.req.param('queue') }, 202);
});
app.get('/readyz', (c) => c.text('ok'));
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT) });
process.on('SIGTERM', () =>
  server.close(async () => {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    process.exit(0);
  }),
);
