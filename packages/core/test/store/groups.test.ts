/**
 * Per-group fairness in the claim (migration 000008): groups are served in turn from where the last
 * claim stopped, each up to the queue's groupConcurrency running, and tasks without a group take a
 * turn too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { claimJobs, executorOf, insertTasks, updateQueueSettings, uuidv7 } from '@taskfleet/core';
import { useTestBoss } from '../../../../test-support/boss.ts';
import { useTestDatabase } from '../../../../test-support/database.ts';

const db = useTestDatabase();
const boss = useTestBoss(db, 2);
afterEach(async () => {
  await db.query(`DELETE FROM pgboss.job WHERE name = 'noop'`);
  await db.query('DELETE FROM taskfleet.queue_settings');
});

/** Insert `n` tasks of each group, oldest first in the order given (null: no group). */
async function seed(groups: (string | null)[], n: number): Promise<Map<string, string | null>> {
  const groupOf = new Map<string, string | null>();
  for (let i = 0; i < n; i++) {
    for (const g of groups) {
      const id = uuidv7();
      groupOf.set(id, g);
      await insertTasks(executorOf(boss()), 'noop', [{ id, data: {}, ...(g ? { group: { id: g } } : {}) }]);
    }
  }
  return groupOf;
}

/** The groups of the tasks one claim took, sorted (the claim returns its rows in no particular order). */
const claimGroups = async (groupOf: Map<string, string | null>, n: number) =>
  (await claimJobs(executorOf(boss()), 'noop', n)).claimed.map((j) => groupOf.get(j.id) ?? '(none)').sort();

describe('group-limited claim', () => {
  it('takes one task per group per turn, resumes after the last group served, and stops each group at its limit', async () => {
    await updateQueueSettings(executorOf(boss()), 'noop', { groupConcurrency: 2 });
    const groupOf = await seed(['a', 'b', 'c'], 5);
    expect(await claimGroups(groupOf, 2)).toEqual(['a', 'b']);
    expect(await claimGroups(groupOf, 2)).toEqual(['a', 'c']); // from after b: c, then round again to a
    expect(await claimGroups(groupOf, 6)).toEqual(['b', 'c']); // a is at its limit of 2
    expect(await claimGroups(groupOf, 6)).toEqual([]); // every group at its limit
    const running = await db.query(
      `SELECT group_id, count(*)::int AS n FROM pgboss.job WHERE name = 'noop' AND state = 'active' GROUP BY group_id ORDER BY group_id`,
    );
    expect(running.rows).toEqual([
      { group_id: 'a', n: 2 },
      { group_id: 'b', n: 2 },
      { group_id: 'c', n: 2 },
    ]);
  });

  it('gives tasks without a group a turn of their own, without a limit', async () => {
    await updateQueueSettings(executorOf(boss()), 'noop', { groupConcurrency: 1 });
    const groupOf = await seed(['a', null], 3);
    expect(await claimGroups(groupOf, 4)).toEqual(['(none)', '(none)', '(none)', 'a']);
  });

  it('claims in plain queue order when the queue has no group limit', async () => {
    const groupOf = await seed(['a', 'b'], 2);
    expect(await claimGroups(groupOf, 3)).toEqual(['a', 'a', 'b']);
  });
});
