import { describe, expect, it } from 'vitest';
import { openResources, trackResource } from '@taskfleet/core';
import { describeLeaks } from './leaks.ts';

describe('leak detection', () => {
  it('reports resources opened since the snapshot and nothing else', () => {
    const earlier = trackResource('pool', 'earlier');
    const before = new Set(openResources().map((r) => r.id));
    const leaked = trackResource('server', 'api');
    expect(describeLeaks(openResources(), before)).toBe(
      'leaked 1 open resource(s): server "api" — close them in the test (or its afterEach/afterAll)',
    );
    leaked();
    expect(describeLeaks(openResources(), before)).toBeUndefined();
    earlier();
  });
});
