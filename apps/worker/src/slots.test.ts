import { describe, expect, it } from 'vitest';
import { Slots } from './slots.ts';

const tick = () => new Promise((r) => setImmediate(r));

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

describe('slots (p-limit)', () => {
  it('counts a slot the moment a job is taken, keeps the reserved ones for critical work, frees them on settle', async () => {
    const slots = new Slots(4, 1);
    const low = [gate(), gate(), gate()];
    const runs = low.map((g) => slots.run('q', false, () => g.opened));
    expect(slots.room('q')).toEqual({ any: 1, nonCritical: 0 });
    const critical = gate();
    const c = slots.run('q', true, () => critical.opened);
    expect(slots.active).toBe(4);
    expect(slots.room('q')).toEqual({ any: 0, nonCritical: 0 });
    critical.open();
    await c;
    await tick();
    expect(slots.room('q')).toEqual({ any: 1, nonCritical: 0 });
    for (const g of low) g.open();
    await Promise.all(runs);
    await tick();
    expect(slots.active).toBe(0);
    expect(slots.room('q')).toEqual({ any: 4, nonCritical: 3 });
  });

  it('runs a job handed over beyond the slots only when one frees (never more at once than slots)', async () => {
    const slots = new Slots(2, 0);
    let running = 0;
    let most = 0;
    const gates = [gate(), gate(), gate()];
    const runs = gates.map((g) =>
      slots.run('q', false, async () => {
        running++;
        most = Math.max(most, running);
        await g.opened;
        running--;
      }),
    );
    await tick();
    expect(running).toBe(2);
    expect(slots.active).toBe(3); // the third is counted (waiting), so nothing more is claimed
    expect(slots.room('q').any).toBe(0);
    (gates[0] as ReturnType<typeof gate>).open();
    await tick();
    expect(running).toBe(2);
    for (const g of gates) g.open();
    await Promise.all(runs);
    expect(most).toBe(2);
  });

  it('applies a per-queue limit and wakes the loops when a slot frees', async () => {
    const slots = new Slots(10, 0, { slow: 2 });
    let woken = 0;
    slots.onRelease(() => woken++);
    const g = gate();
    const a = slots.run('slow', false, () => g.opened);
    const b = slots.run('slow', false, () => g.opened);
    expect(slots.room('slow').any).toBe(0);
    expect(slots.room('other').any).toBe(8);
    expect(slots.activeIn('slow')).toBe(2);
    g.open();
    await Promise.all([a, b]);
    await tick();
    expect(woken).toBe(2);
    expect(slots.room('slow').any).toBe(2);
  });
});
