/** GroupCommitter logic with a scripted insert function (the real-database behaviour is in apps/api/test). */
import { describe, expect, it } from 'vitest';
import { GroupCommitFullError, GroupCommitter, GroupCommitTimeoutError, type InsertRows } from './group-commit.ts';

const row = (id: string) => ({ id, data: {} });

function recorder(impl?: InsertRows) {
  const calls: { queue: string; ids: string[] }[] = [];
  const insert: InsertRows = async (queue, rows) => {
    calls.push({ queue, ids: rows.map((r) => r.id) });
    return impl ? impl(queue, rows) : rows.map((r) => r.id);
  };
  return { calls, insert };
}

const base = { maxRows: 100, windowMs: 0, concurrency: 1, queueLimit: 1000, timeoutMs: 5000 };

describe('GroupCommitter', () => {
  it('coalesces rows submitted together into one statement per queue', async () => {
    const { calls, insert } = recorder();
    const gc = new GroupCommitter({ ...base, insert });
    const results = await Promise.all([gc.submit('a', row('1')), gc.submit('a', row('2')), gc.submit('b', row('3'))]);
    expect(results).toEqual([true, true, true]);
    expect(calls).toEqual([
      { queue: 'a', ids: ['1', '2'] },
      { queue: 'b', ids: ['3'] },
    ]);
  });

  it('inserts a repeated id once and reports the repeats as duplicates', async () => {
    const { calls, insert } = recorder();
    const gc = new GroupCommitter({ ...base, insert });
    const results = await Promise.all([gc.submit('a', row('x')), gc.submit('a', row('x'))]);
    expect(results).toEqual([true, false]);
    expect(calls[0]?.ids).toEqual(['x']);
  });

  it('splits on a row error so only the bad row fails', async () => {
    const { insert } = recorder(async (_q, rows) => {
      if (rows.some((r) => r.id === 'bad')) throw Object.assign(new Error('invalid input'), { code: '22P02' });
      return rows.map((r) => r.id);
    });
    const gc = new GroupCommitter({ ...base, insert });
    const results = await Promise.allSettled([gc.submit('a', row('1')), gc.submit('a', row('bad')), gc.submit('a', row('2'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('fails every row of a statement that failed for a connection reason', async () => {
    const { calls, insert } = recorder(async () => {
      throw Object.assign(new Error('connection terminated'), { code: '57P01' });
    });
    const gc = new GroupCommitter({ ...base, insert });
    const results = await Promise.allSettled([gc.submit('a', row('1')), gc.submit('a', row('2'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toHaveLength(1);
  });

  it('refuses at once when the buffer is full', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { insert } = recorder(async (_q, rows) => {
      await gate;
      return rows.map((r) => r.id);
    });
    const gc = new GroupCommitter({ ...base, insert, queueLimit: 1 });
    const inFlight = gc.submit('a', row('1'));
    await new Promise((r) => setImmediate(r));
    const waiting = gc.submit('a', row('2'));
    await expect(gc.submit('a', row('3'))).rejects.toBeInstanceOf(GroupCommitFullError);
    open();
    expect(await inFlight).toBe(true);
    expect(await waiting).toBe(true);
  });

  it('drops a row that waited past the timeout without writing it', async () => {
    let release: () => void = () => {};
    const { calls, insert } = recorder((_q, rows) => new Promise((resolve) => (release = () => resolve(rows.map((r) => r.id)))));
    const gc = new GroupCommitter({ ...base, insert, timeoutMs: 30 });
    const inFlight = gc.submit('a', row('1'));
    await new Promise((r) => setImmediate(r));
    await expect(gc.submit('a', row('late'))).rejects.toBeInstanceOf(GroupCommitTimeoutError);
    release();
    expect(await inFlight).toBe(true);
    await gc.drain();
    expect(calls.flatMap((c) => c.ids)).not.toContain('late');
  });

  it('runs up to `concurrency` statements at once and never exceeds maxRows', async () => {
    let running = 0;
    let peak = 0;
    const sizes: number[] = [];
    const gc = new GroupCommitter({
      ...base,
      maxRows: 10,
      concurrency: 3,
      insert: async (_q, rows) => {
        running++;
        peak = Math.max(peak, running);
        sizes.push(rows.length);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return rows.map((r) => r.id);
      },
    });
    await Promise.all(Array.from({ length: 100 }, (_, i) => gc.submit('a', row(String(i)))));
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
  });

  it('refuses new rows after close but flushes the accepted ones', async () => {
    const { insert } = recorder();
    const gc = new GroupCommitter({ ...base, insert, windowMs: 20 });
    const accepted = gc.submit('a', row('1'));
    await gc.close();
    expect(await accepted).toBe(true);
    await expect(gc.submit('a', row('2'))).rejects.toThrow(/shutting down/);
  });
});
