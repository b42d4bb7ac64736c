import { TASKS } from '@taskfleet/core';
import { describe, expect, it } from 'vitest';
import { enqueueRequestSchema, validateTask } from './schema.ts';

const noop = TASKS.noop;

describe('validateTask', () => {
  it('a body with only a payload passes the options schema whatever the payload (the fast path relies on it)', () => {
    for (const payload of [{}, { echo: 1 }, null, 0, 'x', [1, 2], { payload: { nested: true } }, { priority: 'urgent' }]) {
      expect(enqueueRequestSchema.safeParse({ payload }).success).toBe(true);
    }
  });

  it('answers a payload-only body as the full validation does', () => {
    for (const payload of [{}, { echo: 'hi' }, { echo: 'hi', extra: 1 }, null, 'x']) {
      const fast = validateTask({ payload }, noop);
      // The same request with a (default) option added takes the full validation.
      const full = validateTask({ priority: 'normal', payload }, noop);
      expect(fast.ok).toBe(full.ok);
      if (fast.ok && full.ok) expect(fast.payload).toEqual(full.payload);
      if (!fast.ok && !full.ok) expect(fast.errors).toEqual(full.errors);
    }
  });

  it('still checks options, unknown fields and a missing payload', () => {
    expect(validateTask({ payload: {}, priority: 'urgent' }, noop)).toMatchObject({ ok: false, errors: [{ field: 'priority' }] });
    expect(validateTask({ payload: {}, extra: 1 }, noop)).toMatchObject({ ok: false, errors: [{ field: '(body)' }] });
    expect(validateTask({}, noop)).toMatchObject({ ok: false, errors: [{ field: 'payload', message: 'is required' }] });
    expect(validateTask([{ payload: {} }], noop).ok).toBe(false);
    expect(validateTask(Object.assign(Object.create(null), { payload: {} }), noop).ok).toBe(true);
  });
});
