/**
 * The job store: every statement taskfleet runs against pg-boss's tables (`pgboss.*`) and its own
 * (`taskfleet.*`), one module per concern. Apps, bench and tests call these; they hold no SQL on
 * those schemas of their own (`test/store-boundary.test.ts` checks). The migration runner's
 * bookkeeping statements stay in migrations/.
 *
 * - executor.ts — how statements run (pg-boss's pool, a client), `ping`
 * - names.ts — pg-boss's schema and NOTIFY channel
 * - enqueue.ts — the ingest insert
 * - dedupe.ts — debounce windows: a waiting task takes a later request's content
 * - wake.ts — the NOTIFY that wakes a queue's workers after an insert commits (one in flight per queue)
 * - claim.ts — claim, complete-and-claim (the worker's hot path)
 * - failures.ts — the statements around a failed attempt
 * - tasks.ts — task reads, listing, task operations
 * - queues.ts — queue depth and throughput reads for the API
 * - queue-stats.ts — the fleet's shared queue snapshot
 * - presence.ts — worker replicas' presence rows
 * - rescue.ts — giving back the running jobs of a dead replica
 * - queue-settings.ts — fleet-wide flow control per queue (pause, concurrency, rate, groups), cancel notices
 * - http-hosts.ts — fleet-wide limits per receiving host for http.request
 * - keys.ts — API keys
 * - progress.ts — a running task's progress (ctx.progress)
 * - schedules.ts — recurring schedules and the scheduler tick's transaction
 * - dependencies.ts — task dependencies: lock parents, link children, their outputs
 * - task-waits.ts — long-poll: mark a task watched, check ended ones
 * - replication.ts — streaming replicas: the primary's WAL position, a replica's replay position
 */
export * from './claim.ts';
export * from './enqueue.ts';
export * from './dedupe.ts';
export * from './dependencies.ts';
export * from './executor.ts';
export * from './wake.ts';
export * from './failures.ts';
export * from './http-hosts.ts';
export * from './keys.ts';
export * from './names.ts';
export * from './presence.ts';
export * from './progress.ts';
export * from './queue-stats.ts';
export * from './queues.ts';
export * from './rescue.ts';
export * from './schedules.ts';
export * from './tasks.ts';
export * from './task-waits.ts';
export * from './queue-settings.ts';
export * from './replication.ts';
