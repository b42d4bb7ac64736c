/**
 * Named priority levels mapped to pg-boss integer priorities (higher runs first). The gaps leave
 * room for levels in between without renumbering stored jobs.
 */
export const PRIORITIES = {
  critical: 30,
  high: 20,
  normal: 10,
  low: 0,
} as const;

export type PriorityName = keyof typeof PRIORITIES;

/** Highest first. */
export const PRIORITY_NAMES: readonly PriorityName[] = ['critical', 'high', 'normal', 'low'];

export function isPriorityName(value: unknown): value is PriorityName {
  return typeof value === 'string' && Object.hasOwn(PRIORITIES, value);
}

export function priorityValue(name: PriorityName): number {
  return PRIORITIES[name];
}

/** The named level a stored integer priority falls in (the highest level it reaches). */
export function priorityName(value: number): PriorityName {
  for (const name of PRIORITY_NAMES) if (value >= PRIORITIES[name]) return name;
  return 'low';
}
