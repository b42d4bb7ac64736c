/**
 * A shard's LISTEN connection (one per shard, through that shard's pg-boss db): a NOTIFY on pg-boss's
 * channel wakes its queue's loop, a reconnect wakes them all; taskfleet's cancel channel aborts the
 * handler of a cancelled task this replica runs. pg-boss's listener reconnects by itself once it
 * was established; a shard that is down when the worker starts is listened to again with backoff
 * (1 s doubling to 30 s) until it answers, its loops polling meanwhile.
 */
import { CANCEL_CHANNEL, type Logger, NOTIFY_CHANNEL } from '@taskfleet/core';
import type { PgBoss } from 'pg-boss';
import { coerceError } from './errors.ts';
import type { JobRunner } from './job-runner.ts';
import type { QueueLoop } from './queue-loop.ts';

export interface Listening {
  close(): Promise<void>;
}

const RETRY_MAX_MS = 30_000;

export async function listenForWork(boss: PgBoss, loops: Map<string, QueueLoop>, runner: JobRunner, logger: Logger): Promise<Listening> {
  const db = boss.getDb();
  if (!db.listen) return { close: async () => {} };
  const listen = db.listen.bind(db);
  const listeners: { close(): Promise<void> }[] = [];
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const wakeAll = () => {
    for (const loop of loops.values()) loop.wake();
  };
  const onCancel = (payload: string) => {
    try {
      const { queue, id } = JSON.parse(payload) as { queue: string; id: string };
      if (runner.cancel(queue, id)) logger.info({ queue, jobId: id }, 'cancel received: aborting the running handler');
    } catch (err) {
      logger.warn({ err: coerceError(err), payload }, 'unreadable cancel notification');
    }
  };
  const attempt = async (delayMs: number, first: boolean): Promise<void> => {
    try {
      if (listeners.length === 0) listeners.push(await listen(NOTIFY_CHANNEL, (queue) => loops.get(queue)?.wake(), wakeAll));
      listeners.push(await listen(CANCEL_CHANNEL, onCancel, () => undefined));
      if (closed) await Promise.all(listeners.map((l) => l.close().catch(() => undefined)));
      else if (!first) {
        logger.info('LISTEN established');
        wakeAll(); // NOTIFYs sent while it was down were missed
      }
    } catch (err) {
      if (closed) return;
      const message = first
        ? 'LISTEN unavailable; relying on polling (a cancel then waits for the deadline); trying again'
        : 'LISTEN still unavailable';
      logger.warn({ err: coerceError(err), retryInMs: delayMs }, message);
      retry = setTimeout(() => void attempt(Math.min(RETRY_MAX_MS, delayMs * 2), false), delayMs);
      retry.unref();
    }
  };
  await attempt(1000, true);
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await Promise.all(listeners.map((l) => l.close().catch(() => undefined)));
    },
  };
}
