import { describe, expect, it } from 'vitest';
import { findUnstorableValue, MAX_JSON_DEPTH } from './body.ts';

/** `levels` arrays nested around `inner`: `inner` sits at path length `levels`. */
const nested = (levels: number, inner: unknown): unknown => {
  let value = inner;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
};

describe('findUnstorableValue', () => {
  it('accepts what jsonb stores, down to MAX_JSON_DEPTH levels', () => {
    expect(findUnstorableValue({ a: [1, 'x', null, true, { b: 'é😀' }] })).toBeUndefined();
    expect(findUnstorableValue(nested(MAX_JSON_DEPTH, 1))).toBeUndefined();
    expect(findUnstorableValue(nested(MAX_JSON_DEPTH, {}))).toBeUndefined();
  });

  it('refuses a value deeper than MAX_JSON_DEPTH, naming the first 8 levels', () => {
    expect(findUnstorableValue(nested(MAX_JSON_DEPTH + 1, 1))).toEqual({
      field: '[0][0][0][0][0][0][0][0]',
      message: `nests deeper than ${MAX_JSON_DEPTH} levels`,
    });
    expect(findUnstorableValue(nested(10_000, 1))?.message).toMatch(/deeper/);
  });

  it('names the first NUL, lone surrogate or bad key in document order', () => {
    expect(findUnstorableValue({ payload: { ok: 'x', list: ['y', 'a\u0000b'], later: '\u0000' } })).toEqual({
      field: 'payload.list[1]',
      message: 'must not contain NUL (\\u0000) characters',
    });
    expect(findUnstorableValue({ p: { 'odd key': '\ud800' } })).toEqual({
      field: 'p["odd key"]',
      message: 'must not contain unpaired UTF-16 surrogates',
    });
    expect(findUnstorableValue({ p: { 'k\u0000': 1 } })).toEqual({
      field: 'p',
      message: 'has a key that must not contain NUL (\\u0000) characters',
    });
  });
});
