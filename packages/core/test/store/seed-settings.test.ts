/**
 * A task type's `flowControl` seeds its queue's settings once: the queue sync writes them when the
 * queue has none, and never overwrites an operator's change.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, executorOf, getQueueSettings, syncQueues, updateQueueSettings } from '@taskfleet/core';
import { useTestBoss } from '../../../../test-support/boss.ts';
import { useTestDatabase } from '../../../../test-support/database.ts';

const db = useTestDatabase();
const boss = useTestBoss(db, 2);

const settingsOf = async (queue: string) => {
  const { updatedAt: _u, ...s } = await getQueueSettings(executorOf(boss()), queue);
  return s;
};

describe("a task type's flowControl", () => {
  it('seeds the settings of a queue that has none, and leaves an operator change alone', async () => {
    const def = defineTask({
      name: 'seeded.limits',
      description: 'test',
      schema: z.object({}),
      flowControl: { concurrency: 4, rate: { limit: 10, periodSeconds: 60 }, groupConcurrency: 2 },
    });
    await syncQueues(boss(), db.logger, { [def.name]: def });
    expect(await settingsOf('seeded.limits')).toEqual({
      paused: false,
      concurrency: 4,
      rate: { limit: 10, periodSeconds: 60 },
      groupConcurrency: 2,
    });
    await updateQueueSettings(executorOf(boss()), 'seeded.limits', { concurrency: null });
    await syncQueues(boss(), db.logger, { [def.name]: def });
    expect((await settingsOf('seeded.limits')).concurrency).toBeNull();
  });

  it('is checked when the type is defined', () => {
    const define = (flowControl: object) => () =>
      defineTask({ name: 'bad.limits', description: 'test', schema: z.object({}), flowControl });
    expect(define({ concurrency: 0 })).toThrow(/flowControl.concurrency/);
    expect(define({ groupConcurrency: 1.5 })).toThrow(/flowControl.groupConcurrency/);
    expect(define({ rate: { limit: 10, periodSeconds: 0 } })).toThrow(/flowControl.rate.periodSeconds/);
    expect(define({ concurrency: 3 })).not.toThrow();
  });
});
