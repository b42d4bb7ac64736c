import { describe, expect, it } from 'vitest';
import { checkSchedule, latestSlotAtOrBefore, nextSlotAfter, type ScheduleSpecError } from './cron.ts';

const fieldOf = (cron: string, timezone: string) => {
  try {
    checkSchedule(cron, timezone);
    return null;
  } catch (err) {
    return (err as ScheduleSpecError).field;
  }
};

describe('schedule cron arithmetic', () => {
  it('keeps 09:00 local in Europe/Berlin across the spring and autumn clock changes', () => {
    const cron = '0 9 * * *';
    // 2026-03-29 02:00 CET → 03:00 CEST: 08:00Z the day before, 07:00Z from that day on.
    expect(nextSlotAfter(cron, 'Europe/Berlin', new Date('2026-03-28T06:00:00Z')).toISOString()).toBe('2026-03-28T08:00:00.000Z');
    expect(nextSlotAfter(cron, 'Europe/Berlin', new Date('2026-03-28T08:00:00Z')).toISOString()).toBe('2026-03-29T07:00:00.000Z');
    // 2026-10-25 03:00 CEST → 02:00 CET: back to 08:00Z.
    expect(nextSlotAfter(cron, 'Europe/Berlin', new Date('2026-10-24T12:00:00Z')).toISOString()).toBe('2026-10-25T08:00:00.000Z');
    // The same expression in UTC ignores both.
    expect(nextSlotAfter(cron, 'UTC', new Date('2026-03-28T12:00:00Z')).toISOString()).toBe('2026-03-29T09:00:00.000Z');
  });

  it('the next slot is strictly after, the latest slot at or before', () => {
    const at = new Date('2026-01-01T12:00:00.000Z');
    expect(nextSlotAfter('* * * * *', 'UTC', at).toISOString()).toBe('2026-01-01T12:01:00.000Z');
    expect(latestSlotAtOrBefore('* * * * *', 'UTC', at)?.toISOString()).toBe('2026-01-01T12:00:00.000Z');
    expect(latestSlotAtOrBefore('*/15 * * * *', 'UTC', new Date('2026-01-01T12:14:59.999Z'))?.toISOString()).toBe(
      '2026-01-01T12:00:00.000Z',
    );
    expect(latestSlotAtOrBefore('0 9 * * *', 'Europe/Berlin', new Date('2026-03-30T06:00:00Z'))?.toISOString()).toBe(
      '2026-03-29T07:00:00.000Z',
    );
  });

  it('names the field at fault', () => {
    expect(fieldOf('*/5 * * * mon-fri', 'America/New_York')).toBeNull();
    expect(fieldOf('* * * *', 'UTC')).toBe('cron');
    expect(fieldOf('* * * * * *', 'UTC')).toBe('cron'); // seconds: not a 5-field expression
    expect(fieldOf('@daily', 'UTC')).toBe('cron');
    expect(fieldOf('61 * * * *', 'UTC')).toBe('cron');
    expect(fieldOf('* * * * *', 'Mars/Olympus')).toBe('timezone');
    expect(fieldOf('* * * * *', '')).toBe('timezone');
  });
});
