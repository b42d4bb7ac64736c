import { describe, expect, it } from 'vitest';
import { isPriorityName, PRIORITIES, PRIORITY_NAMES, priorityName, priorityValue } from './priority.ts';

describe('priorities', () => {
  it('orders critical > high > normal > low as pg-boss integers (higher runs first)', () => {
    const values = PRIORITY_NAMES.map(priorityValue);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    expect(new Set(values).size).toBe(4);
  });

  it('maps integers back to the level they reach', () => {
    expect(priorityName(PRIORITIES.critical)).toBe('critical');
    expect(priorityName(PRIORITIES.critical + 5)).toBe('critical');
    expect(priorityName(PRIORITIES.high - 1)).toBe('normal');
    expect(priorityName(-10)).toBe('low');
  });

  it('recognises only the four names', () => {
    expect(isPriorityName('high')).toBe(true);
    expect(isPriorityName('urgent')).toBe(false);
    expect(isPriorityName('__proto__')).toBe(false);
    expect(isPriorityName(1)).toBe(false);
  });
});
