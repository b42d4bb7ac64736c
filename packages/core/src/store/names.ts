/**
 * Names the store and pg-boss must agree on, built in one place: pg-boss's schema and the NOTIFY
 * channel its listeners use (the ingest insert notifies on it; the worker listens on it).
 */
import { createHash } from 'node:crypto';

/** pg-boss's schema; fixed so that migrations/ can carry its SQL. */
export const PGBOSS_SCHEMA = 'pgboss';

/** pg-boss's NOTIFY channel for a schema (the payload is the queue name). */
export function notifyChannel(schema: string = PGBOSS_SCHEMA): string {
  return `pgboss_${createHash('sha224').update(schema).digest('hex').slice(0, 24)}`;
}

/** The channel of the fixed schema. */
export const NOTIFY_CHANNEL = notifyChannel();

/** taskfleet's own channel for cancelling a running task (payload: `{"queue","id"}` JSON). */
export const CANCEL_CHANNEL = 'taskfleet_cancel';

/**
 * taskfleet's channel for the end of a watched task (payload: its id), sent by migration 000014's
 * trigger; the API's long-poll listens on it.
 */
export const TASK_END_CHANNEL = 'taskfleet_task_end';
