/**
 * Metric names are defined once, here, so the API, the worker, the alert rules and the dashboards
 * agree. Each process has its own prom-client registry with the default process metrics, labelled
 * with its role.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const METRIC_PREFIX = 'taskfleet_';

export const METRICS = {
  /** API */
  httpRequests: `${METRIC_PREFIX}http_requests_total`,
  httpDuration: `${METRIC_PREFIX}http_request_duration_seconds`,
  httpInFlight: `${METRIC_PREFIX}http_requests_in_flight`,
  tasksEnqueued: `${METRIC_PREFIX}tasks_enqueued_total`,
  tasksShed: `${METRIC_PREFIX}tasks_shed_total`,
  longPollWaiters: `${METRIC_PREFIX}api_long_poll_waiters`,
  /** Worker */
  jobsStarted: `${METRIC_PREFIX}jobs_started_total`,
  jobsCompleted: `${METRIC_PREFIX}jobs_completed_total`,
  jobsFailed: `${METRIC_PREFIX}jobs_failed_total`,
  jobsDeferred: `${METRIC_PREFIX}jobs_deferred_total`,
  jobsRescued: `${METRIC_PREFIX}jobs_rescued_total`,
  jobsRetried: `${METRIC_PREFIX}jobs_retried_total`,
  jobsDeadLettered: `${METRIC_PREFIX}jobs_dead_lettered_total`,
  jobRunDuration: `${METRIC_PREFIX}job_run_duration_seconds`,
  jobWait: `${METRIC_PREFIX}job_wait_seconds`,
  jobsActive: `${METRIC_PREFIX}jobs_active`,
  workerSlots: `${METRIC_PREFIX}worker_slots`,
  fetchErrors: `${METRIC_PREFIX}fetch_errors_total`,
  progressWrites: `${METRIC_PREFIX}task_progress_writes_total`,
  /** Queue gauges */
  queueDepth: `${METRIC_PREFIX}queue_depth`,
  queueOldestReadyAge: `${METRIC_PREFIX}queue_oldest_ready_age_seconds`,
  queueReadyByPriority: `${METRIC_PREFIX}queue_ready`,
  queueStatsAge: `${METRIC_PREFIX}queue_stats_age_seconds`,
  queueStatsStale: `${METRIC_PREFIX}queue_stats_stale`,
  queueDepthEstimated: `${METRIC_PREFIX}queue_depth_estimated`,
  queuePaused: `${METRIC_PREFIX}queue_paused`,
  queueConcurrencyLimit: `${METRIC_PREFIX}queue_concurrency_limit`,
  /** Scheduler (API and worker replicas) */
  scheduledTasks: `${METRIC_PREFIX}scheduled_tasks_total`,
  /** Topology: read replicas (API and worker replicas) */
  replicaLag: `${METRIC_PREFIX}db_replica_lag_seconds`,
  replicaUp: `${METRIC_PREFIX}db_replica_up`,
  dbReads: `${METRIC_PREFIX}db_reads_total`,
} as const;

export function createMetricsRegistry(role: string, labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role, ...labels });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
