/** A pg-boss instance on the test database for the file's tests (no supervision, no LISTEN), stopped after them. */
import { createBoss, startBoss } from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll } from 'vitest';
import type { TestDatabase } from './database.ts';

export function useTestBoss(db: TestDatabase, max = 2): () => PgBoss {
  let boss: PgBoss | undefined;
  beforeAll(async () => {
    boss = await startBoss(
      createBoss({ config: db.config(), role: 'test', logger: db.logger, max, supervise: false, listen: false }),
      db.logger,
    );
  });
  afterAll(() => boss?.stop({ graceful: false, close: true }));
  return () => {
    if (!boss) throw new Error('useTestBoss: pg-boss is not started yet (use it inside a test)');
    return boss;
  };
}
