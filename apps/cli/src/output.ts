/** Human-readable output shared by the commands. */

/** Left-aligned text table (numbers right-aligned). */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[], numeric: boolean[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const numeric = cols.map((c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return [
    line(cols, numeric),
    line(
      widths.map((w) => '-'.repeat(w)),
      numeric,
    ),
    ...rows.map((r) =>
      line(
        cols.map((c) => cell(r[c])),
        numeric,
      ),
    ),
  ].join('\n');
}

/** `queue id state (attempt n of max)`: the first line of every task the CLI shows. */
export function taskLine(t: { id: string; queue: string; state: string; attempts: number; maxAttempts: number }): string {
  return `${t.queue} ${t.id} ${t.state} (attempt ${t.attempts} of ${t.maxAttempts})`;
}
