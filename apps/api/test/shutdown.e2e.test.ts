/**
 * SIGTERM on a real API process under load: /readyz turns 503, requests in flight finish, pending
 * group commits flush, the process exits 0 — and every request answered 202 has its row.
 */
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test-support/database.ts';
import { spawnApp, waitReady } from '../../../test-support/processes.ts';

const db = useTestDatabase();

describe('API graceful shutdown', () => {
  it('drains on SIGTERM without losing an acknowledged task', { timeout: 60_000 }, async () => {
    const child = await spawnApp('api', {
      DATABASE_URL: db.url,
      API_AUTH: 'disabled',
      LOG_LEVEL: 'warn',
      API_GROUP_COMMIT_WINDOW_MS: '20',
    });
    await waitReady(child);
    const { url, exited } = child;
    const send = () =>
      fetch(`${url}/v1/queues/noop/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"payload":{}}',
      }).then(
        async (r) => ({ status: r.status, id: r.status === 202 ? ((await r.json()) as { id: string }).id : undefined }),
        () => ({ status: 0, id: undefined }),
      );
    const warm = await Promise.all(Array.from({ length: 20 }, send));
    expect(warm.every((a) => a.status === 202)).toBe(true);
    const first = Array.from({ length: 100 }, send);
    await new Promise((r) => setTimeout(r, 20)); // in flight (the group commit waits 20 ms)
    child.proc.kill('SIGTERM');
    const later: Promise<{ status: number; id: string | undefined }>[] = [];
    let readyDuringDrain = 200;
    for (let i = 0; i < 100 && readyDuringDrain === 200; i++) {
      later.push(send());
      readyDuringDrain = await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      await new Promise((r) => setTimeout(r, 5));
    }
    const answers = [...warm, ...(await Promise.all([...first, ...later]))];
    expect(await exited, child.output()).toBe(0);
    // Every answer is an acknowledgement, a retryable 503, or a refused connection once closed.
    for (const a of answers) expect([202, 503, 0]).toContain(a.status);
    const acknowledged = answers.filter((a) => a.status === 202).map((a) => a.id as string);
    expect(acknowledged.length).toBeGreaterThanOrEqual(warm.length);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pgboss.job WHERE id = ANY($1::uuid[])', [acknowledged]);
    expect(rows[0]?.n).toBe(acknowledged.length);
    // Once the signal lands, readiness fails (503 on a kept-alive connection, or refused once the listener closed).
    expect([503, 0]).toContain(readyDuringDrain);
  });
});
