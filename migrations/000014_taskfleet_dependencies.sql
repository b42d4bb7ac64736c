-- Task ends that someone waits for: task dependencies and long-poll (issue 17, items 6 and 4).
--
-- Dependencies build on pg-boss 12's flow columns and table, which its claim paths and ours already
-- honour: a dependent task is inserted `blocked` with `pending_dependencies` = the dependencies not
-- yet completed, one `pgboss.job_dependency` row per (child, parent) edge, and `blocking` set on
-- every parent that has not ended. The claim (complete_and_claim, the group claim) and the queue
-- snapshot skip blocked rows (index job_i11 leaves them out). What pg-boss 12 does not fit:
-- it unblocks children from a background poll (Navigator, every flowIntervalSeconds ≥ 5 s, per
-- completed `blocking` parent), and a failed or cancelled parent leaves its children blocked for
-- ever. So the end of a `blocking` row is handled here, in the transaction that ends it, by AFTER
-- triggers (after an UPDATE that ends it; after the INSERT by which pg-boss records a failure — it
-- deletes the row and inserts it again): the flag is cleared (pg-boss's Navigator, which looks for
-- `blocking AND state = 'completed'`, never sees the row and never decrements a second time), NOTIFY
-- taskfleet_task_end (payload: the task id) tells the API's long-poll waiters, and the dependents
-- are released (completed: one dependency fewer, runnable at none, their queue's workers woken on
-- pg-boss's channel) or cancelled with the reason as their output (failed, dead-lettered,
-- cancelled). A cancelled dependent's own end fires the trigger again: A → B → C, A dead-lettered
-- → B and C cancelled.
-- Long-poll reuses the same flag: `blocking` means "someone waits for this row's end". A waiting
-- request sets it (store/task-waits.ts: `UPDATE … SET blocking = true WHERE … AND state <= 'active'`,
-- under the row lock, so either the row had not ended and its end will NOTIFY, or the request sees
-- the end). No new column, and the triggers' WHEN clauses are false for an unwatched task without
-- dependents (one boolean test): the worker's hot path runs no trigger function for it.
-- A NOTIFY serializes the commits that send one (PostgreSQL's notify lock, store/wake.ts), so only
-- watched tasks and parents send any.

-- pg-boss's NOTIFY channel for the schema 'pgboss', derived as packages/core/src/store/names.ts
-- derives it (a test compares the two).
CREATE OR REPLACE FUNCTION taskfleet.pgboss_notify_channel()
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $fn$ SELECT 'pgboss_' || left(encode(sha224(convert_to('pgboss', 'UTF8')), 'hex'), 24) $fn$;

-- A completed task's dependents: one dependency fewer; those at none become runnable (and their
-- queues' workers are woken).
CREATE OR REPLACE FUNCTION taskfleet.release_dependents(p_name text, p_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
  v_queue text;
BEGIN
  FOR v_queue IN
    WITH children AS (
      SELECT j.name, j.id
      FROM pgboss.job_dependency d
      JOIN pgboss.job j ON j.name = d.child_name AND j.id = d.child_id
      WHERE d.parent_name = p_name AND d.parent_id = p_id AND j.blocked
      ORDER BY j.name, j.id
      FOR UPDATE OF j
    ), released AS (
      UPDATE pgboss.job j
      SET pending_dependencies = greatest(j.pending_dependencies - 1, 0), blocked = j.pending_dependencies > 1
      FROM children c
      WHERE j.name = c.name AND j.id = c.id
      RETURNING j.name, j.blocked, j.start_after
    )
    SELECT DISTINCT r.name FROM released r WHERE NOT r.blocked AND r.start_after <= pgboss.job_now()
  LOOP
    PERFORM pg_notify(taskfleet.pgboss_notify_channel(), v_queue);
  END LOOP;
END
$fn$;

-- A failed (dead-lettered or not) or cancelled task's dependents that still wait: cancelled, with
-- the reason as their output (the API shows it as lastError).
CREATE OR REPLACE FUNCTION taskfleet.cancel_dependents(p_name text, p_id uuid, p_state text)
RETURNS void
LANGUAGE sql
AS $fn$
  WITH children AS (
    SELECT j.name, j.id
    FROM pgboss.job_dependency d
    JOIN pgboss.job j ON j.name = d.child_name AND j.id = d.child_id
    WHERE d.parent_name = p_name AND d.parent_id = p_id AND j.blocked AND j.state = 'created'
    ORDER BY j.name, j.id
    FOR UPDATE OF j
  )
  UPDATE pgboss.job j
  SET state = 'cancelled', completed_on = pgboss.job_now(), blocked = false,
    output = jsonb_build_object(
      'message', format('dependency %s/%s ended %s', p_name, p_id, p_state),
      'cancelReason', 'dependency',
      'dependency', jsonb_build_object('queue', p_name, 'id', p_id, 'state', p_state))
  FROM children c
  WHERE j.name = c.name AND j.id = c.id
$fn$;

-- The public name of an ended state (a failed task with a dead-letter queue was dead-lettered).
CREATE OR REPLACE FUNCTION taskfleet.ended_state(p_state pgboss.job_state, p_dead_letter text)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $fn$ SELECT CASE WHEN p_state = 'failed' AND p_dead_letter IS NOT NULL THEN 'dead_lettered' ELSE p_state::text END $fn$;

-- The end of a watched or depended-on row: clear the flag (so pg-boss's Navigator never sees a
-- completed `blocking` row and never decrements the dependents a second time), announce the end,
-- release or cancel the dependents. Fired after an UPDATE that ends it (completion, cancel, expiry)
-- and after an INSERT of an ended row that carries the flag: pg-boss records a failed attempt by
-- deleting the row and inserting it again (retry or failed state, `blocking` copied).
CREATE OR REPLACE FUNCTION taskfleet.task_end()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
  UPDATE pgboss.job SET blocking = false WHERE name = NEW.name AND id = NEW.id AND blocking;
  PERFORM pg_notify('taskfleet_task_end', NEW.id::text);
  IF NEW.state = 'completed' THEN
    PERFORM taskfleet.release_dependents(NEW.name, NEW.id);
  ELSE
    PERFORM taskfleet.cancel_dependents(NEW.name, NEW.id, taskfleet.ended_state(NEW.state, NEW.dead_letter));
  END IF;
  RETURN NULL;
END
$fn$;

-- AFTER triggers only. A BEFORE UPDATE row trigger costs every update it could fire for, even with
-- a WHEN clause that is false: PostgreSQL fetches and locks the old row for it before it evaluates
-- WHEN (measured: the worker's drain of 20,000 no-op tasks 18–22 % slower with one, medians of two
-- runs of alternated rounds on a shared 2-core machine). An AFTER
-- trigger's WHEN is tested on the rows at hand, and a false one queues nothing. AFTER also lets the
-- cascade reach rows its own statement updated (a diamond A → B, A → C, B → C), where a BEFORE
-- trigger would fail with "tuple already modified by an operation triggered by the current command".
DROP TRIGGER IF EXISTS taskfleet_task_end_after_update ON pgboss.job;
CREATE TRIGGER taskfleet_task_end_after_update
  AFTER UPDATE OF state ON pgboss.job
  FOR EACH ROW
  WHEN (OLD.blocking AND NEW.blocking AND NEW.state > 'active')
  EXECUTE FUNCTION taskfleet.task_end();

DROP TRIGGER IF EXISTS taskfleet_task_end_after_insert ON pgboss.job;
CREATE TRIGGER taskfleet_task_end_after_insert
  AFTER INSERT ON pgboss.job
  FOR EACH ROW
  WHEN (NEW.blocking AND NEW.state > 'active')
  EXECUTE FUNCTION taskfleet.task_end();

-- Link freshly inserted tasks to their dependencies, in the inserting transaction (store/dependencies.ts):
-- the caller has locked the parents (FOR NO KEY UPDATE: a parent cannot end between the check and
-- the link) and inserted the children. p_links: [{child_name, child_id, parent_name, parent_id}].
-- A child with a parent that ended failed or cancelled is cancelled at once (same reason as the
-- trigger's); one with parents not yet completed waits `blocked`; the rest stay ready. Returns each
-- child's outcome: 'waiting', 'cancelled' or 'ready'.
CREATE OR REPLACE FUNCTION taskfleet.link_dependencies(p_links json)
RETURNS TABLE (child_name text, child_id uuid, outcome text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
BEGIN
  INSERT INTO pgboss.job_dependency (child_name, child_id, parent_name, parent_id)
  SELECT l.child_name, l.child_id, l.parent_name, l.parent_id FROM json_to_recordset(p_links) AS l(child_name text, child_id uuid, parent_name text, parent_id uuid)
  ON CONFLICT DO NOTHING;

  -- Parents that have not ended: their end must reach the children (the triggers above).
  UPDATE pgboss.job p SET blocking = true
  FROM (SELECT DISTINCT l.parent_name, l.parent_id FROM json_to_recordset(p_links) AS l(child_name text, child_id uuid, parent_name text, parent_id uuid)) l
  WHERE p.name = l.parent_name AND p.id = l.parent_id AND p.state <= 'active';

  -- Every child with a parent not completed waits (those with a failed parent are cancelled next).
  UPDATE pgboss.job j SET blocked = true, pending_dependencies = n.pending
  FROM (
    SELECT l.child_name, l.child_id, count(*) FILTER (WHERE p.state <> 'completed')::int AS pending
    FROM json_to_recordset(p_links) AS l(child_name text, child_id uuid, parent_name text, parent_id uuid) JOIN pgboss.job p ON p.name = l.parent_name AND p.id = l.parent_id
    GROUP BY l.child_name, l.child_id
  ) n
  WHERE j.name = n.child_name AND j.id = n.child_id AND n.pending > 0;

  -- A child of a parent that already failed or was cancelled: cancelled now (its own dependents,
  -- linked above if they are in the same batch, follow through the cascade trigger).
  UPDATE pgboss.job j
  SET state = 'cancelled', completed_on = pgboss.job_now(), blocked = false,
    output = jsonb_build_object(
      'message', format('dependency %s/%s ended %s', f.parent_name, f.parent_id, f.parent_state),
      'cancelReason', 'dependency',
      'dependency', jsonb_build_object('queue', f.parent_name, 'id', f.parent_id, 'state', f.parent_state))
  FROM (
    SELECT DISTINCT ON (l.child_name, l.child_id) l.child_name, l.child_id, l.parent_name, l.parent_id,
      taskfleet.ended_state(p.state, p.dead_letter) AS parent_state
    FROM json_to_recordset(p_links) AS l(child_name text, child_id uuid, parent_name text, parent_id uuid) JOIN pgboss.job p ON p.name = l.parent_name AND p.id = l.parent_id
    WHERE p.state > 'completed'
    ORDER BY l.child_name, l.child_id, l.parent_id
  ) f
  WHERE j.name = f.child_name AND j.id = f.child_id AND j.state = 'created';

  RETURN QUERY
  SELECT j.name, j.id, CASE WHEN j.state = 'cancelled' THEN 'cancelled' WHEN j.blocked THEN 'waiting' ELSE 'ready' END
  FROM (SELECT DISTINCT l.child_name, l.child_id FROM json_to_recordset(p_links) AS l(child_name text, child_id uuid, parent_name text, parent_id uuid)) c
  JOIN pgboss.job j ON j.name = c.child_name AND j.id = c.child_id;
END
$fn$;
