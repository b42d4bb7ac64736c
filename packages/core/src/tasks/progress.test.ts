import { describe, expect, it } from 'vitest';
import { InvalidProgressError, MAX_PROGRESS_BYTES, serializeProgress } from './progress.ts';

describe('serializeProgress', () => {
  it('stores numbers from 0 to 100 and plain objects as JSON text', () => {
    expect(serializeProgress(0)).toBe('0');
    expect(serializeProgress(42.5)).toBe('42.5');
    expect(serializeProgress(100)).toBe('100');
    expect(serializeProgress({ done: 3, total: 4, stage: 'upload' })).toBe('{"done":3,"total":4,"stage":"upload"}');
    expect(serializeProgress({ blob: 'x'.repeat(MAX_PROGRESS_BYTES - 11) })).toHaveLength(MAX_PROGRESS_BYTES);
  });

  it.each([
    [-1, /between 0 and 100 \(got -1\)/],
    [100.1, /between 0 and 100/],
    [Number.NaN, /between 0 and 100 \(got NaN\)/],
    [Number.POSITIVE_INFINITY, /between 0 and 100/],
    ['50', /a number from 0 to 100 or a plain JSON object/],
    [null, /a number from 0 to 100 or a plain JSON object/],
    [[50], /a number from 0 to 100 or a plain JSON object/],
    [new Date(), /a number from 0 to 100 or a plain JSON object/],
    [{ n: 10n }, /not serializable as JSON/],
    [{ blob: 'é'.repeat(MAX_PROGRESS_BYTES) }, /bytes as JSON; at most 2048/],
  ])('refuses %s with InvalidProgressError', (value, message) => {
    expect(() => serializeProgress(value)).toThrow(InvalidProgressError);
    expect(() => serializeProgress(value)).toThrow(message);
  });
});
