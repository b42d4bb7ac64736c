import type { OpenResource } from '@taskfleet/core';

/** `undefined` when nothing new is open; otherwise what leaked, for the failure message. */
export function describeLeaks(open: OpenResource[], before: Set<number>): string | undefined {
  const leaked = open.filter((r) => !before.has(r.id));
  if (leaked.length === 0) return undefined;
  return `leaked ${leaked.length} open resource(s): ${leaked.map((r) => `${r.kind} "${r.name}"`).join(', ')} — close them in the test (or its afterEach/afterAll)`;
}
