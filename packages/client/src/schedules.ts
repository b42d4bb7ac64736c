/**
 * `client.schedules`: recurring schedules (`PUT/GET/DELETE /v1/schedules/{name}`, `GET /v1/schedules`).
 * The fleet inserts one task per slot of the cron expression, whatever the number of replicas.
 */
import type { Priority, Schedule } from './types.ts';

export interface ScheduleInput {
  queue: string;
  /** 5 fields: minute hour day-of-month month day-of-week, e.g. `*\/5 * * * *`. */
  cron: string;
  /** IANA time zone the expression is evaluated in. @defaultValue 'UTC' */
  timezone?: string;
  payload: unknown;
  priority?: Priority;
  maxAttempts?: number;
  timeoutSeconds?: number;
  group?: string;
}

export interface ScheduleClient {
  /** Create or replace a schedule (a replacement with the same cron and zone keeps its next slot). */
  set(name: string, schedule: ScheduleInput): Promise<Schedule>;
  get(name: string): Promise<Schedule>;
  list(): Promise<Schedule[]>;
  /** Delete a schedule: no task for its slots from then on (404 TaskfleetError when there is none). */
  delete(name: string): Promise<void>;
}

export const SCHEDULE_ROUTES = {
  setSchedule: ['put', '/v1/schedules/{name}'],
  getSchedule: ['get', '/v1/schedules/{name}'],
  listSchedules: ['get', '/v1/schedules'],
  deleteSchedule: ['delete', '/v1/schedules/{name}'],
} as const;

type Call = <T>(method: string, path: string, body?: unknown, opts?: { retryTransport?: boolean }) => Promise<T>;

export function scheduleClient(call: Call): ScheduleClient {
  const path = (name: string) => `/v1/schedules/${encodeURIComponent(name)}`;
  return {
    // PUT replaces with the same content: safe to repeat after a lost answer.
    set: (name, schedule) => call('PUT', path(name), schedule, { retryTransport: true }),
    get: (name) => call('GET', path(name)),
    list: async () => (await call<{ schedules: Schedule[] }>('GET', '/v1/schedules')).schedules,
    delete: async (name) => {
      await call('DELETE', path(name));
    },
  };
}
