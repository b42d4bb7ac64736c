/**
 * Cron arithmetic for schedules, on cron-parser (the parser pg-boss's own schedule() uses): 5-field
 * expressions (minute hour day-of-month month day-of-week) evaluated in an IANA time zone, so
 * `0 9 * * *` in Europe/Berlin is 09:00 local on both sides of a daylight-saving change.
 */
import { CronExpressionParser } from 'cron-parser';

/** A cron expression or time zone that cannot be used; `field` names the request field at fault. */
export class ScheduleSpecError extends Error {
  readonly field: 'cron' | 'timezone';
  constructor(field: 'cron' | 'timezone', message: string) {
    super(message);
    this.name = 'ScheduleSpecError';
    this.field = field;
  }
}

/** True for a time zone the runtime knows (IANA names such as `Europe/Berlin`, and `UTC`). */
export function isValidTimezone(timezone: string): boolean {
  if (timezone.length === 0 || timezone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Check a schedule's cron expression and time zone.
 * @throws ScheduleSpecError naming `cron` or `timezone`.
 */
export function checkSchedule(cron: string, timezone: string): void {
  if (!isValidTimezone(timezone)) {
    throw new ScheduleSpecError('timezone', 'must be an IANA time zone name, e.g. UTC or Europe/Berlin');
  }
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 || fields.some((f) => f.startsWith('@'))) {
    throw new ScheduleSpecError('cron', 'must have 5 fields: minute hour day-of-month month day-of-week, e.g. "*/5 * * * *"');
  }
  try {
    CronExpressionParser.parse(cron.trim(), { tz: timezone, strict: false });
  } catch (err) {
    throw new ScheduleSpecError('cron', `is not a valid cron expression: ${(err as Error).message}`);
  }
}

function parse(cron: string, timezone: string, currentDate: Date) {
  return CronExpressionParser.parse(cron.trim(), { tz: timezone, strict: false, currentDate });
}

/** The first slot strictly after `after`. */
export function nextSlotAfter(cron: string, timezone: string, after: Date): Date {
  return parse(cron, timezone, after).next().toDate();
}

/** The latest slot at or before `at`, or null when there is none (within cron-parser's search range). */
export function latestSlotAtOrBefore(cron: string, timezone: string, at: Date): Date | null {
  try {
    return parse(cron, timezone, new Date(at.getTime() + 1))
      .prev()
      .toDate();
  } catch {
    return null;
  }
}
