-- Recurring schedules (issue 17): `PUT /v1/schedules/{name}` stores a cron expression with its time
-- zone, a queue, a payload and enqueue options. Every API and worker replica runs the scheduler tick
-- (packages/core/src/schedules/scheduler.ts): in one transaction it takes the due rows
-- (`next_run_at <= now()`) FOR UPDATE SKIP LOCKED, inserts each one's task for its slot with an id
-- derived from (name, slot) — a repeat of the same slot can never insert a second task — and moves
-- `next_run_at` to the first slot after now. A missed slot during a full outage: only the latest one
-- runs on recovery (docs/guarantees.md).
--
-- pg-boss's own schedule() is not used: it forwards each occurrence through its `__pgboss__send-it`
-- queue to a pg-boss `work()` handler that sends the stored data as is, while taskfleet's workers claim
-- with their own loop and its tasks are envelopes ({payload, meta}) written by taskfleet's insert.
CREATE TABLE IF NOT EXISTS taskfleet.schedules (
  name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  queue        text NOT NULL,
  cron         text NOT NULL,
  timezone     text NOT NULL DEFAULT 'UTC',
  payload      jsonb NOT NULL,
  -- priority, maxAttempts, timeoutSeconds, group: as accepted by the API.
  options      jsonb NOT NULL DEFAULT '{}',
  -- The API key that set it (its tasks carry it as their submitter); NULL with auth disabled.
  submitter    uuid,
  next_run_at  timestamptz NOT NULL,
  last_run_at  timestamptz,
  last_task_id uuid,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The tick's probe: the due rows, earliest first.
CREATE INDEX IF NOT EXISTS schedules_next_run_at ON taskfleet.schedules (next_run_at);
