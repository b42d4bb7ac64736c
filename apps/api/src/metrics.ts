/** API metrics (names from packages/core), observed from the request pipeline, not business logic. */
import { METRICS } from '@taskfleet/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ApiMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  inFlight: Gauge;
  enqueued: Counter<'queue' | 'outcome'>;
  /** Count enqueued tasks; each (queue, outcome) child resolved once (prom-client hashes labels per call). */
  countEnqueued(queue: string, outcome: 'accepted' | 'duplicate', n?: number): void;
  shed: Counter<'reason'>;
  groupCommitRows: Histogram;
  groupCommitSeconds: Histogram<'outcome'>;
  groupCommitWaiting: Gauge;
}

export function createApiMetrics(registry: Registry, groupCommitWaiting: () => number): ApiMetrics {
  const enqueuedChildren = new Map<string, { inc(n?: number): void }>();
  return {
    countEnqueued(queue, outcome, n = 1) {
      const key = `${queue}\n${outcome}`;
      let child = enqueuedChildren.get(key);
      if (!child) {
        child = this.enqueued.labels({ queue, outcome });
        enqueuedChildren.set(key, child);
      }
      child.inc(n);
    },
    requests: new Counter({
      name: METRICS.httpRequests,
      help: 'HTTP requests by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: METRICS.httpDuration,
      help: 'HTTP request duration in seconds by route template',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: METRICS.httpInFlight, help: 'HTTP requests being handled', registers: [registry] }),
    enqueued: new Counter({
      name: METRICS.tasksEnqueued,
      help: 'Tasks submitted through the API by queue and outcome (accepted, duplicate)',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
    }),
    shed: new Counter({
      name: METRICS.tasksShed,
      help: 'Requests refused to protect the system, by reason (concurrency, buffer, timeout, queue_depth, rate_limit, draining)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    groupCommitRows: new Histogram({
      name: `${METRICS.tasksEnqueued.replace('_total', '')}_group_commit_rows`,
      help: 'Rows per group-commit insert statement',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers: [registry],
    }),
    groupCommitSeconds: new Histogram({
      name: `${METRICS.tasksEnqueued.replace('_total', '')}_group_commit_seconds`,
      help: 'Duration of group-commit insert statements',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    groupCommitWaiting: new Gauge({
      name: `${METRICS.tasksEnqueued.replace('_total', '')}_group_commit_waiting`,
      help: 'Tasks waiting for the next group commit',
      registers: [registry],
      collect() {
        this.set(groupCommitWaiting());
      },
    }),
  };
}
