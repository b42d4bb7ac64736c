/**
 * Dead-replica rescue with real worker processes (issue 20): a SIGKILLed replica's running jobs start
 * again on the others within seconds — not after their heartbeat (10 s for test.ledger) plus a
 * maintenance pass (set to 60 s here, so only the rescue can be what brings them back); a replica
 * frozen with SIGSTOP has its jobs given back, its late completions are refused, and it rejoins.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLedgerTable, drained, Fleet } from '../../test-support/chaos.ts';
import { useTestDatabase } from '../../test-support/database.ts';
import { enqueue } from '../../test-support/enqueue.ts';
import type { AppProcess } from '../../test-support/processes.ts';

const db = useTestDatabase();
let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
  await db.query('DELETE FROM pgboss.job');
  await db.query('DELETE FROM test_ledger');
});

const ENV = { WORKER_MAINTENANCE_INTERVAL_SECONDS: '60', WORKER_POLL_INTERVAL_MS: '200' };

/** The attempts `pid` is running now: its ledger executions whose job is still active in that attempt. */
async function runningOn(pid: number): Promise<{ id: string; attempt: number }[]> {
  const { rows } = await db.query(
    `SELECT l.task_id AS id, l.attempt FROM test_ledger l JOIN pgboss.job j ON j.id = l.task_id
     WHERE l.pid = $1 AND j.state = 'active' AND j.retry_count + 1 = l.attempt`,
    [pid],
  );
  return rows as { id: string; attempt: number }[];
}

/** When each of these attempts' task next started (ms since epoch), by id. */
async function nextStarts(attempts: { id: string; attempt: number }[]): Promise<Map<string, { at: number; pid: number }>> {
  const { rows } = await db.query(
    `SELECT l.task_id AS id, min(l.at) AS at, (array_agg(l.pid ORDER BY l.at))[1] AS pid
     FROM test_ledger l JOIN unnest($1::uuid[], $2::int[]) AS a(id, attempt) ON a.id = l.task_id AND l.attempt > a.attempt
     GROUP BY l.task_id`,
    [attempts.map((a) => a.id), attempts.map((a) => a.attempt)],
  );
  return new Map((rows as { id: string; at: Date; pid: number }[]).map((r) => [r.id, { at: r.at.getTime(), pid: r.pid }]));
}

/** `n` tasks submitted over time, 50 per statement (a backlog's tasks do not share one created_on). */
async function ledgerTasks(n: number, sleepMs: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, j) => ({ payload: { key: `k${i + j}`, sleepMs } }));
    ids.push(...(await enqueue(db, 'test.ledger', batch)));
  }
  return ids;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('dead-replica rescue (real worker processes)', () => {
  it("starts a SIGKILLed replica's running jobs again within 10 s, each once", { timeout: 120_000 }, async () => {
    await createLedgerTable(db.query);
    const f = new Fleet({ DATABASE_URL: db.url, WORKER_CONCURRENCY: '64', ...ENV });
    fleet = f;
    for (let i = 0; i < 3; i++) await f.addWorker();
    const ids = await ledgerTasks(1_500, 1_500);
    const victim = f.workers[0] as AppProcess;
    await waitUntil(async () => (await runningOn(victim.pid)).length >= 50, 'the victim running 50 jobs', 30_000);
    const inFlight = await runningOn(victim.pid);
    const { killed } = await f.killAndReplaceWorker(0);
    const killedAt = f.killed.get(killed) as number;

    const audit = await drained(db.query, ids, 90_000);
    expect(audit.lost).toEqual([]);
    expect(audit.unfinished).toEqual([]);
    expect(audit.completed).toBe(ids.length);
    const again = await nextStarts(inFlight);
    const delays = inFlight.map((a) => ((again.get(a.id)?.at ?? Number.POSITIVE_INFINITY) - killedAt) / 1000).sort((x, y) => x - y);
    const p99 = delays[Math.ceil(delays.length * 0.99) - 1] as number;
    expect(inFlight.length).toBeGreaterThanOrEqual(50);
    expect(p99).toBeLessThan(10);
    for (const a of inFlight) expect(again.get(a.id)?.pid).not.toBe(killed);
    // Only the killed replica's jobs ran twice, and each of their earlier runs was on it.
    for (const { id, runs } of audit.reruns) for (const run of runs.slice(0, -1)) expect(run.pid, id).toBe(killed);
    expect(f.unexpectedExits()).toEqual([]);
    console.log(
      `[rescue] ${inFlight.length} jobs in flight on the killed replica started again after ${delays[0]?.toFixed(1)}–${delays.at(-1)?.toFixed(1)} s (p99 ${p99.toFixed(1)} s); ${audit.reruns.length} re-runs in ${ids.length} tasks`,
    );
  });

  it('gives back a frozen replica’s jobs, refuses its late completions, and lets it rejoin', { timeout: 120_000 }, async () => {
    await createLedgerTable(db.query);
    const f = new Fleet({ DATABASE_URL: db.url, WORKER_CONCURRENCY: '16', ...ENV });
    fleet = f;
    await f.addWorker();
    await f.addWorker();
    const ids = await ledgerTasks(800, 1_000);
    const victim = f.workers[0] as AppProcess;
    await waitUntil(async () => (await runningOn(victim.pid)).length >= 10, 'the victim running jobs', 30_000);
    victim.proc.kill('SIGSTOP');
    const frozenAt = Date.now();
    const frozen = await runningOn(victim.pid);
    await new Promise((r) => setTimeout(r, 10_000));
    const beforeThaw = await nextStarts(frozen);
    victim.proc.kill('SIGCONT');
    const thawedAt = Date.now();

    const audit = await drained(db.query, ids, 90_000);
    expect(audit.lost).toEqual([]);
    expect(audit.unfinished).toEqual([]);
    // Given back while it was frozen: every one ran again on the other replica before the thaw.
    expect(frozen.length).toBeGreaterThan(0);
    for (const a of frozen) expect(beforeThaw.get(a.id)?.pid, a.id).toBe(f.workers[1]?.pid);
    // Its late completions were refused: what those tasks ended with came from their later run.
    const { rows } = await db.query(`SELECT id, state::text, output FROM pgboss.job WHERE id = ANY($1::uuid[])`, [frozen.map((a) => a.id)]);
    for (const r of rows as { id: string; state: string; output: { pid?: number } | null }[]) {
      expect(r.state, r.id).toBe('completed');
      expect(r.output?.pid, r.id).not.toBe(victim.pid);
    }
    // It rejoined: it ran new work after the thaw, and exits cleanly.
    const { rows: later } = await db.query(`SELECT count(*)::int AS n FROM test_ledger WHERE pid = $1 AND at > to_timestamp($2 / 1000.0)`, [
      victim.pid,
      thawedAt,
    ]);
    expect(later[0].n).toBeGreaterThan(0);
    await f.stop();
    fleet = undefined;
    expect(f.exits.find((e) => e.pid === victim.pid)?.code).toBe(0);
    expect(f.unexpectedExits()).toEqual([]);
    console.log(
      `[rescue] ${frozen.length} jobs of a replica frozen for ${((thawedAt - frozenAt) / 1000).toFixed(1)} s ran again elsewhere before the thaw; it ran ${later[0].n} more after`,
    );
  });
});
