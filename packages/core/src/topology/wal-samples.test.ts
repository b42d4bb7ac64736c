import { describe, expect, it } from 'vitest';
import { WalSamples } from './wal-samples.ts';

describe('replica lag from sampled WAL positions', () => {
  it('is 0 for a replica at the last sampled position, however long the primary has been idle', () => {
    const samples = new WalSamples(60_000);
    for (let t = 0; t <= 600_000; t += 1000) samples.add(100n, t); // ten idle minutes
    expect(samples.lag(100n, 600_500)).toBe(0);
    expect(samples.lag(150n, 600_500)).toBe(0);
  });

  it('is the age of the newest sample the replica has replayed past', () => {
    const samples = new WalSamples(60_000);
    samples.add(100n, 0);
    samples.add(200n, 1000);
    samples.add(300n, 2000);
    expect(samples.lag(250n, 2500)).toBe(1.5); // holds everything the primary had at t=1000
    expect(samples.lag(200n, 2500)).toBe(1.5);
    expect(samples.lag(100n, 2500)).toBe(2.5);
  });

  it('is at least the age of the oldest sample kept for a replica behind all of them', () => {
    const samples = new WalSamples(5000);
    for (let t = 0; t <= 20_000; t += 1000) samples.add(BigInt(1000 + t), t);
    expect(samples.size).toBe(6); // 15 s … 20 s
    expect(samples.lag(10n, 20_000)).toBe(5);
  });

  it('is unknown before the first sample', () => {
    expect(new WalSamples(1000).lag(1n, 0)).toBeNull();
  });
});
