/** Baseline: the no-database HTTP ceiling — a Hono route that parses the JSON body and answers 202. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
let n = 0;
app.post('/v1/queues/:queue/tasks', async (c) => {
  const body = await c.req.json();
  return c.json({ id: String(++n), queue: c.req.param('queue'), ok: typeof body === 'object' }, 202);
});
app.get('/readyz', (c) => c.text('ok'));
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT) });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
