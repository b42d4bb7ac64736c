-- Completion callbacks and task progress (issue 17, items 3 and 5).
--
-- Progress: what a handler last reported with ctx.progress() (0–100 or a small JSON object), written
-- by the worker at most once per interval per task (apps/worker/src/progress.ts, store/progress.ts).
-- A nullable column without a default: adding it rewrites nothing, and partitions created later
-- (pgboss.create_queue: LIKE pgboss.job) get it too.
ALTER TABLE pgboss.job ADD COLUMN IF NOT EXISTS progress jsonb;

-- A failed attempt's progress is not kept: pg-boss records a failure by deleting the row and
-- inserting it anew (retry or failed) with its own column list.
--
-- Callbacks: a task submitted with `callback` carries it at the top of its data (`data.callback`).
-- When such a task ends — completed, failed (dead-lettered or not), cancelled (by the API, an
-- expiry, anything that moves its state) — these triggers insert a `taskfleet.callback` delivery
-- task in the same transaction as the end: the hand-off commits or rolls back with it, and a crash
-- cannot lose it. Two triggers, because pg-boss ends a task in two ways: completions and
-- cancellations UPDATE the row's state; failures (its fail(), expiry, heartbeat loss) DELETE the row
-- and INSERT it again as `retry` or `failed` (plans.ts failJobsBody). The WHEN clauses keep them
-- off the hot paths: for a completion without a callback, or an enqueued row, no function runs
-- and no trigger event is queued (an enum compare, a jsonb top-level key test on the new row).
-- The delivery takes its retry policy from the taskfleet.callback queue's row (synced from the task
-- type in packages/core/src/tasks/callback.ts), like taskfleet's own insert (store/enqueue.ts). No
-- NOTIFY: a NOTIFY inside the completing transaction would serialize its commits on PostgreSQL's
-- notify lock (store/wake.ts); the workers find the delivery within their poll interval.
CREATE OR REPLACE FUNCTION taskfleet.task_callback()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
DECLARE
  q pgboss.queue%ROWTYPE;
  v_meta jsonb := jsonb_build_object('submitter', NULL);
BEGIN
  SELECT * INTO q FROM pgboss.queue WHERE name = 'taskfleet.callback';
  IF NOT FOUND THEN
    -- Never fail the task's own end over its callback: the queue is created by `npm run migrate`.
    RAISE WARNING 'taskfleet: queue taskfleet.callback does not exist; the callback of task % in % is not delivered', NEW.id, NEW.name;
    RETURN NULL;
  END IF;
  IF NEW.data->'meta' ? 'traceparent' THEN
    v_meta := v_meta || jsonb_build_object('traceparent', NEW.data->'meta'->'traceparent');
  END IF;
  INSERT INTO pgboss.job (id, name, data, priority, start_after, expire_seconds, deletion_seconds, keep_until,
    retry_limit, retry_delay, retry_backoff, retry_delay_max, policy, dead_letter, heartbeat_seconds)
  VALUES (gen_random_uuid(), q.name,
    jsonb_build_object('payload', jsonb_build_object('queue', NEW.name, 'id', NEW.id, 'state', NEW.state::text), 'meta', v_meta),
    NEW.priority, pgboss.job_now(), q.expire_seconds, q.deletion_seconds,
    pgboss.job_now() + q.retention_seconds * interval '1s',
    q.retry_limit, q.retry_delay, COALESCE(q.retry_backoff, false), q.retry_delay_max, q.policy, q.dead_letter, q.heartbeat_seconds);
  RETURN NULL;
END
$fn$;

DROP TRIGGER IF EXISTS taskfleet_task_callback ON pgboss.job;
CREATE TRIGGER taskfleet_task_callback
  AFTER UPDATE OF state ON pgboss.job
  FOR EACH ROW
  WHEN (NEW.state IN ('completed', 'failed', 'cancelled') AND OLD.state IS DISTINCT FROM NEW.state AND NEW.data ? 'callback')
  EXECUTE FUNCTION taskfleet.task_callback();

-- A row inserted already ended: pg-boss's failure re-insert (and any other writer that inserts a
-- finished task). Enqueued rows are `created` and fail the WHEN clause at its first test.
DROP TRIGGER IF EXISTS taskfleet_task_callback_inserted ON pgboss.job;
CREATE TRIGGER taskfleet_task_callback_inserted
  AFTER INSERT ON pgboss.job
  FOR EACH ROW
  WHEN (NEW.state IN ('completed', 'failed', 'cancelled') AND NEW.data ? 'callback')
  EXECUTE FUNCTION taskfleet.task_callback();
