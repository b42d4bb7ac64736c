/** API metrics (names from packages/core), observed from the request pipeline, not business logic. */
import { METRICS } from '@taskfleet/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ApiMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  inFlight: Gauge;
  enqueued: Counter<'queue' | 'outcome'>;
  /** One request's count and duration (label children resolved once: see `childOf`). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** Count enqueued tasks (label children resolved once). */
  countEnqueued(queue: string, outcome: 'accepted' | 'duplicate' | 'replaced', n?: number): void;
  shed: Counter<'reason'>;
  groupCommitRows: Histogram;
  groupCommitSeconds: Histogram<'outcome'>;
  groupCommitWaiting: Gauge;
}

/**
 * A metric's child for a label set, made once per distinct set: prom-client hashes the label object
 * on every `inc`/`observe` call, which the hot path paid per request.
 */
function childOf<L extends string, C>(labels: (values: Record<L, string>) => C): (values: Record<L, string>) => C {
  const children = new Map<string, C>();
  return (values) => {
    const key = Object.values(values).join('\n');
    let child = children.get(key);
    if (!child) {
      child = labels(values);
      children.set(key, child);
    }
    return child;
  };
}

export function createApiMetrics(registry: Registry, groupCommitWaiting: () => number): ApiMetrics {
  const requests = new Counter({
    name: METRICS.httpRequests,
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: METRICS.httpDuration,
    help: 'HTTP request duration in seconds by route template',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const enqueued = new Counter({
    name: METRICS.tasksEnqueued,
    help: 'Tasks submitted through the API by queue and outcome (accepted; duplicate: idempotent repeat or throttled; replaced: debounced)',
    labelNames: ['queue', 'outcome'],
    registers: [registry],
  });
  const requestCount = childOf<'method' | 'route' | 'status', { inc(): void }>((v) => requests.labels(v));
  const requestTime = childOf<'method' | 'route', { observe(s: number): void }>((v) => duration.labels(v));
  const enqueuedCount = childOf<'queue' | 'outcome', { inc(n?: number): void }>((v) => enqueued.labels(v));
  return {
    requests,
    duration,
    enqueued,
    observeRequest(method, route, status, seconds) {
      requestTime({ method, route }).observe(seconds);
      requestCount({ method, route, status: String(status) }).inc();
    },
    countEnqueued(queue, outcome, n = 1) {
      enqueuedCount({ queue, outcome }).inc(n);
    },
    inFlight: new Gauge({ name: METRICS.httpInFlight, help: 'HTTP requests being handled', registers: [registry] }),
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
