import { Hono } from 'hono';

export interface HealthDeps {
  /** Resolves when the database answers; rejects otherwise. */
  pingDatabase: () => Promise<void>;
  /** True once shutdown has begun: the balancer should stop sending traffic. */
  isDraining: () => boolean;
}

/** `/healthz`: the process is alive. `/readyz`: the database answers and we are not draining. */
export function healthRoutes({ pingDatabase, isDraining }: HealthDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (isDraining()) return c.json({ status: 'draining' }, 503);
    try {
      await pingDatabase();
      return c.json({ status: 'ready' });
    } catch (err) {
      return c.json(
        { status: 'unavailable', reason: 'database unreachable', detail: err instanceof Error ? err.message : String(err) },
        503,
      );
    }
  });
  return app;
}
