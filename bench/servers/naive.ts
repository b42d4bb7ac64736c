/** Baseline: the naive ingest — a Hono route that calls pg-boss `send` once per request. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { PgBoss } from 'pg-boss';

const boss = new PgBoss({ connectionString: process.env.DATABASE_URL, max: 10, supervise: false, schedule: false, migrate: false });
boss.on('error', (err) => console.error(err));
await boss.start();
const app = new Hono();
app.post('/v1/queues/:queue/tasks', async (c) => {
  const body = (await c.req.json()) as { payload: object };
  const id = await boss.send(c.req.param('queue'), { payload: body.payload, meta: { submitter: null } });
  return c.json({ id, queue: c.req.param('queue') }, 202);
});
app.get('/readyz', (c) => c.text('ok'));
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT) });
process.on('SIGTERM', () => server.close(() => boss.stop({ graceful: false }).then(() => process.exit(0))));
