import { describe, expect, it } from 'vitest';
import { validate, version } from 'uuid';
import { uuidv7 } from './uuid7.ts';

describe('uuidv7', () => {
  it('produces valid version-7 UUIDs carrying the timestamp', () => {
    const id = uuidv7(0x0123456789ab);
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(7);
    expect(id.startsWith('01234567-89ab-7')).toBe(true);
  });

  it('sorts by time and does not repeat', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => uuidv7(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    const prefixes = ids.map((id) => id.slice(0, 13));
    expect(prefixes).toEqual([...prefixes].sort());
  });
});
