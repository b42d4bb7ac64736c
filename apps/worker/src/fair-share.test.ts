import { describe, expect, it } from 'vitest';
import { FairShare } from './fair-share.ts';

function lanes(total: number) {
  const share = new FairShare(total);
  const held = { a: 0, b: 0 };
  const a = share.lane(0, ['q'], () => held.a);
  const b = share.lane(1, ['q'], () => held.b);
  return { share, held, a, b };
}

describe('fair share of the slots between shards', () => {
  it('splits the slots evenly while both shards may have work (at the start nothing is known)', () => {
    const { a, b } = lanes(8);
    expect(a.room()).toBe(4);
    expect(b.room()).toBe(4);
    a.observe('q', 4, 4);
    b.observe('q', 4, 4);
    expect(a.room()).toBe(4);
    expect(b.room()).toBe(4);
  });

  it('is work-conserving: a shard without backlog caps nothing, and its share comes back when it wakes', () => {
    const { share, held, a, b } = lanes(8);
    let woken = 0;
    share.onChange(() => woken++);
    b.observe('q', 4, 0); // drained
    expect(woken).toBe(1);
    expect(a.room()).toBe(8);
    held.a = 8;
    expect(a.room()).toBe(0);
    expect(b.room()).toBe(0); // not waiting: only what the waiting ones leave
    b.unknown('q'); // a NOTIFY: B asks for its share
    expect(b.room()).toBe(0); // A still holds all 8 …
    expect(a.room()).toBe(0);
    expect(a.headroom()).toBe(-4); // (its settling then refills 4 fewer than it frees)
    held.a = 5; // … until its jobs finish: it may not refill past its share (room 0 at 5 held)
    expect(a.room()).toBe(0);
    expect(b.room()).toBe(3);
    held.a = 4;
    expect(b.room()).toBe(4);
  });

  it('counts loop claims in flight, so two shards claiming at once never exceed the slots', () => {
    const { a, b } = lanes(8);
    a.observe('q', 4, 0);
    expect(b.room()).toBe(8);
    b.claiming(8);
    a.unknown('q');
    expect(a.room()).toBe(0);
    b.done(8);
    expect(a.room()).toBe(4);
  });

  it('a failing shard reserves nothing while it backs off', () => {
    const { a, b } = lanes(8);
    b.failed('q');
    expect(a.room()).toBe(8);
  });
});
