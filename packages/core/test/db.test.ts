import { describe, expect, it } from 'vitest';
import { createBoss, createPool, openResources, startBoss } from '@taskfleet/core';
import { useTestDatabase } from '../../../test-support/database.ts';

const db = useTestDatabase();

describe('database factories', () => {
  it('names pool connections by role and always listens for errors', async () => {
    const pool = createPool({ config: db.config(), role: 'api', logger: db.logger, max: 3, instance: 'r1' });
    try {
      expect(pool.listenerCount('error')).toBeGreaterThan(0);
      const { rows } = await pool.query<{ name: string; timeout: string }>(
        `SELECT current_setting('application_name') AS name, current_setting('statement_timeout') AS timeout`,
      );
      expect(rows[0]).toEqual({ name: 'taskfleet-api-r1', timeout: '30s' });
      expect(openResources().some((r) => r.kind === 'pool' && r.name === 'taskfleet-api-r1')).toBe(true);
    } finally {
      await pool.end();
    }
    expect(openResources().some((r) => r.name === 'taskfleet-api-r1')).toBe(false);
  });

  it('survives a server-side kill of an idle pooled connection (error listener)', async () => {
    const pool = createPool({ config: db.config(), role: 'test', logger: db.logger, max: 1, instance: 'kill' });
    try {
      await pool.query('SELECT 1');
      await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'taskfleet-test-kill'`);
      await new Promise((r) => setTimeout(r, 100));
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('starts pg-boss without migrating, with the pool size and name from config', async () => {
    const boss = createBoss({
      config: db.config(),
      role: 'worker',
      instance: 'w9',
      logger: db.logger,
      max: 4,
      supervise: false,
      listen: false,
    });
    await startBoss(boss, db.logger);
    try {
      const { rows } = await boss.getDb().executeSql(`SELECT current_setting('application_name') AS name`);
      expect(rows[0].name).toBe('taskfleet-worker-w9');
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
});
