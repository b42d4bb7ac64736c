/**
 * Admission control for the enqueue routes, in this order: refuse while this replica drains (503),
 * bound the enqueue requests in progress on this replica (503), require the submit scope (403), the
 * queue must be a task type's (404; dead-letter queues are not fed), and shed a queue whose last known
 * ready depth is above API_SHED_READY_DEPTH (503). With several shards the depth is each shard's own,
 * so that check waits until a task's shard is known (enqueue-task.ts, batch-shards.ts). One instance per app: the in-progress count is
 * shared by every route it guards.
 */
import type { Config } from '@taskfleet/core';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env.ts';
import { requireSubmittable } from '../known-queues.ts';
import type { ApiMetrics } from '../metrics.ts';
import { problems } from '../problem.ts';
import type { Lanes } from '../shards/lanes.ts';
import { requireScope } from './auth.ts';

export interface AdmissionDeps {
  config: Config;
  metrics: ApiMetrics;
  /** With one shard its depth shedder runs here, before the body is read; with more, once a task's shard is known. */
  lanes: Lanes;
  /** True once shutdown has begun. */
  isDraining: () => boolean;
}

/** Guards routes with a `:queue` parameter. */
/** The 503 for a queue over API_SHED_READY_DEPTH (on one shard of several, when `shard` is given). */
export function queueDepthProblem(config: Config, queue: string, shard?: number) {
  const where = shard === undefined ? '' : ` on shard ${shard}`;
  return problems.overloaded(
    `Queue ${queue} has more than ${config.api.shedReadyDepth} ready tasks${where}; new tasks are refused until workers catch up.`,
    5,
  );
}

export function admission(deps: AdmissionDeps) {
  const { config, metrics } = deps;
  const shedder = deps.lanes.sharded ? undefined : deps.lanes.home.shedder;
  let admitted = 0;
  return createMiddleware<AppEnv, '/v1/queues/:queue/*'>(async (c, next) => {
    const queue = c.req.param('queue');
    if (deps.isDraining()) {
      metrics.shed.inc({ reason: 'draining' });
      throw problems.unavailable('This API replica is shutting down; retry (another replica will answer).', 1);
    }
    if (admitted >= config.api.maxConcurrentRequests) {
      metrics.shed.inc({ reason: 'concurrency' });
      throw problems.overloaded(`More than ${config.api.maxConcurrentRequests} enqueue requests are in progress on this replica.`);
    }
    requireScope(c, 'submit');
    requireSubmittable(queue);
    if (shedder?.shouldShed(queue)) {
      metrics.shed.inc({ reason: 'queue_depth' });
      throw queueDepthProblem(config, queue);
    }
    admitted++;
    try {
      await next();
    } finally {
      admitted--;
    }
  });
}
