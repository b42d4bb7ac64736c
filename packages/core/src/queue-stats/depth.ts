/**
 * The queue gauges' figures from snapshot rows: pure functions over one shard's snapshot (its rows
 * and the queue settings read with it). The exporter adds the shards' results up.
 */
import { PRIORITY_NAMES, type PriorityName, priorityName } from '../priority.ts';
import { isDeadLetterQueue } from '../queues.ts';
import type { QueueSettings } from '../store/queue-settings.ts';
import type { QueueStatsRow } from '../store/queue-stats.ts';

/**
 * `throttled`: ready tasks held back by the queue's own settings — paused, at its fleet-wide
 * concurrency (running ≥ limit) or with its rate window full. They wait on purpose and more worker
 * replicas would not start them, so they are not `ready` (the worker autoscaler and the backlog
 * alert look at `ready`). Tasks held only by groupConcurrency stay `ready`: other groups' tasks may
 * be among them.
 */
export const QUEUE_DEPTH_STATES = ['ready', 'scheduled', 'retrying', 'active', 'dead_lettered', 'throttled'] as const;

export type QueueDepth = Record<(typeof QUEUE_DEPTH_STATES)[number], number>;

const zeroDepth = (): QueueDepth => ({ ready: 0, scheduled: 0, retrying: 0, active: 0, dead_lettered: 0, throttled: 0 });
const zeroPriorities = () => Object.fromEntries(PRIORITY_NAMES.map((p) => [p, 0])) as Record<PriorityName, number>;

/** One shard's snapshot with the settings read alongside it. */
export interface ShardQueueView {
  rows: QueueStatsRow[];
  settings: Map<string, QueueSettings>;
  rateFull: Set<string>;
}

/** Depth by state for every exported queue (dead-letter queues fold into their parent's `dead_lettered`). */
export function depthOf(view: ShardQueueView, queues: string[]): Map<string, QueueDepth> {
  const out = new Map(queues.map((q) => [q, zeroDepth()]));
  for (const r of view.rows) {
    if (isDeadLetterQueue(r.queue)) {
      const parent = out.get(r.queue.slice(0, -'.dead'.length));
      if (parent) parent.dead_lettered += r.ready + r.scheduled + r.retrying + r.active;
      continue;
    }
    const q = out.get(r.queue) ?? zeroDepth();
    q.ready += r.ready;
    q.scheduled += r.scheduled;
    q.retrying += r.retrying;
    q.active += r.active;
    out.set(r.queue, q);
  }
  for (const [queue, q] of out) {
    const s = view.settings.get(queue);
    const held = s && (s.paused || (s.concurrency !== null && q.active >= s.concurrency) || view.rateFull.has(queue));
    if (!held) continue;
    q.throttled = q.ready;
    q.ready = 0;
  }
  return out;
}

/** The sum of several shards' depths (each throttled by its own settings first). */
export function sumDepths(depths: Map<string, QueueDepth>[], queues: string[]): Map<string, QueueDepth> {
  const out = new Map(queues.map((q) => [q, zeroDepth()]));
  for (const depth of depths)
    for (const [queue, d] of depth) {
      const sum = out.get(queue) ?? zeroDepth();
      for (const state of QUEUE_DEPTH_STATES) sum[state] += d[state];
      out.set(queue, sum);
    }
  return out;
}

/** Ready tasks by priority name for every exported queue (dead-letter queues left out), over all `rows`. */
export function readyByPriorityOf(rows: Iterable<QueueStatsRow>, queues: string[]): Map<string, Record<PriorityName, number>> {
  const out = new Map(queues.map((q) => [q, zeroPriorities()]));
  for (const r of rows) {
    if (isDeadLetterQueue(r.queue)) continue;
    const byPriority = out.get(r.queue) ?? zeroPriorities();
    byPriority[priorityName(r.priority)] += r.ready;
    out.set(r.queue, byPriority);
  }
  return out;
}

/**
 * Age of each exported queue's oldest ready task (null: none ready), the oldest over all `rows`;
 * `drift(row)` adds the time since the row's snapshot was computed (0: the age at computation).
 */
export function oldestReadyOf(rows: Iterable<{ row: QueueStatsRow; drift: number }>, queues: string[]): Map<string, number | null> {
  const out = new Map<string, number | null>(queues.map((q) => [q, null]));
  for (const { row: r, drift } of rows) {
    if (isDeadLetterQueue(r.queue) || r.oldestReadyAgeSeconds === null) continue;
    out.set(r.queue, Math.max(out.get(r.queue) ?? 0, r.oldestReadyAgeSeconds + drift));
  }
  return out;
}
