import { describe, expect, it } from 'vitest';
import { createBoss, createMetricsRegistry, startBoss } from '@taskfleet/core';
import { createApp } from '../src/app.ts';
import { useTestDatabase } from '../../../test-support/database.ts';

const db = useTestDatabase();

describe('api health endpoints', () => {
  it('/healthz is alive, /readyz is ready with a database and 503 once draining', async () => {
    const config = db.config();
    const boss = await startBoss(
      createBoss({ config, role: 'api', logger: db.logger, max: 2, supervise: false, listen: false }),
      db.logger,
    );
    let draining = false;
    try {
      const app = createApp({ config, boss, logger: db.logger, metrics: createMetricsRegistry('api'), isDraining: () => draining });
      expect((await app.request('/healthz')).status).toBe(200);
      const ready = await app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
      const metrics = await app.request('/metrics');
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await metrics.text()).toMatch(/taskfleet_process_cpu_user_seconds_total\{role="api"\}/);
      draining = true;
      const drainingRes = await app.request('/readyz');
      expect(drainingRes.status).toBe(503);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });

  it('/readyz answers 503 when the database is unreachable', async () => {
    const config = db.config();
    const boss = await startBoss(
      createBoss({ config, role: 'api', logger: db.logger, max: 1, supervise: false, listen: false }),
      db.logger,
    );
    const app = createApp({ config, boss, logger: db.logger, metrics: createMetricsRegistry('api'), isDraining: () => false });
    await boss.stop({ graceful: false, close: true });
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { reason: string }).reason).toBe('database unreachable');
  });
});
