-- The worker's claim and completion, one statement: complete a batch of finished attempts (if
-- any) and claim the next ready jobs of the same queue, highest priority first, oldest first,
-- marked active — one round trip and one commit per batch. It replaces pg-boss's fetch (and the
-- worker's completion statement) for taskfleet's queues (policy 'standard', no groups, no singletons: queue-sync never sets them), keeping its
-- semantics: same ready condition, same order, SKIP LOCKED, started_on/heartbeat_on stamped with
-- job_now(), retry_count counting every claim after the first (the attempt fence of completion).
--
-- Why not pg-boss's own statement: its plan depends on the table's statistics. On a table filled a
-- moment ago (every burst) and not yet analyzed — on a stock server autovacuum looks once a minute —
-- the planner estimates a dozen ready rows and picks a bitmap scan of *every* ready row plus a sort
-- (measured on PostgreSQL 15 with 100,000 fresh rows: 31–45 ms per claim, an external merge sort on
-- disk, 38 CPU-s of PostgreSQL per 100,000 jobs drained). The index job_i11
-- (name, priority DESC, created_on, start_after) WHERE state < 'active' AND NOT blocked already
-- serves this exact ORDER BY, so reading it in order returns the first n ready rows after reading
-- about n entries (0.1 ms) whatever the estimates say. Planner settings scoped to this function
-- (the SET clauses below; nothing changes for other statements or for the server) take the sort
-- and the bitmap scan off the table, so the in-order index scan is the plan with fresh, stale or
-- missing statistics. PL/pgSQL caches the plan per connection, so the claim is not re-planned at
-- every call either.
--
-- Why one statement for both: a drain's cost on this machine is dominated by statements, not rows
-- (profiled: the worker spent 17 % of its CPU in writev with a claim and a completion statement
-- per ~20 jobs). When a batch of k jobs finishes, the k slots it frees are refilled by the statement
-- that records the completions. Nested in one function rather than two (a claim function called
-- from a completion function): pg_stat_statements put the nesting at 1.1 ms of a 3.4 ms call.
--
-- Both updates find their rows by id alone — `id = ANY (…)` with the queue checked in a form no
-- index can serve (`(name = $queue) IS TRUE`) — so their only index path is a lookup of the batch's
-- ids (the id index below; PostgreSQL 18 may skip-scan the primary key instead), whatever the
-- statistics. The forms before were not: with statistics taken while the table was small, a join of
-- the claimed ids with the table ran as a scan of every row of the queue with the ids on the inner
-- side (stock PostgreSQL 15 under sustained load: 28,718 rows scanned, 1.9 million join-filter
-- comparisons, 670 ms for 66 jobs), and `name = $queue AND id = ANY ($ids)` became that same scan with
-- the ids as a filter once PL/pgSQL switched to its generic plan (200–360 ms per call; the soak's
-- queue grew to 16,000 for a minute). One row per statement by full primary key was robust too, but
-- cost 60 % more PostgreSQL CPU per job than this.
--
-- Completion is fenced as before (and as pg-boss's own): only the attempt that was claimed
-- (id, retry_count) and is still active is completed; the others (timed out, taken over) are left
-- alone and not returned. Rows come back in two kinds: `settled` set — an attempt completed by
-- this statement (nothing else set); `settled` null — a claimed job.
--
-- The rows of a batch are found by id alone (see above): an index with id first. Not built
-- CONCURRENTLY: that waits for every other transaction, including runners queued on the migration
-- lock, which PostgreSQL reports as a deadlock. On an existing large job table the build holds
-- writes for its duration (it grows with the table) — run the upgrade's
-- migration before the workers and the API come back.
CREATE INDEX IF NOT EXISTS job_common_id ON pgboss.job_common (id);

CREATE OR REPLACE FUNCTION taskfleet.complete_and_claim(
  p_queue text,
  p_ids uuid[],
  p_retry_counts integer[],
  p_outputs jsonb[],
  p_claim integer,
  p_min_priority integer DEFAULT NULL
)
RETURNS TABLE (
  settled uuid,
  id uuid,
  priority integer,
  data jsonb,
  retry_count integer,
  retry_limit integer,
  heartbeat_seconds integer,
  dead_letter text,
  output jsonb,
  start_after timestamptz,
  created_on timestamptz
)
LANGUAGE plpgsql
SET enable_sort = off
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
BEGIN
  IF cardinality(p_ids) > 0 THEN
    RETURN QUERY
    UPDATE pgboss.job_common j SET state = 'completed', completed_on = pgboss.job_now(), output = i.output
    FROM unnest(p_ids, p_retry_counts, p_outputs) AS i(id, retry_count, output)
    WHERE j.id = ANY (p_ids) AND (j.name = p_queue) IS TRUE AND j.id = i.id AND j.retry_count = i.retry_count AND j.state = 'active'
    RETURNING j.id, NULL::uuid, NULL::integer, NULL::jsonb, NULL::integer, NULL::integer, NULL::integer, NULL::text,
      NULL::jsonb, NULL::timestamptz, NULL::timestamptz;
  END IF;
  IF p_claim > 0 THEN
    RETURN QUERY
    WITH next AS (
      SELECT j.id
      FROM pgboss.job_common j
      WHERE j.name = p_queue
        AND j.state < 'active'
        AND NOT j.blocked
        AND j.start_after <= pgboss.job_now()
        AND j.priority >= coalesce(p_min_priority, -2147483648)
      ORDER BY j.priority DESC, j.created_on
      LIMIT p_claim
      FOR UPDATE OF j SKIP LOCKED
    )
    UPDATE pgboss.job_common j SET
      state = 'active',
      started_on = pgboss.job_now(),
      heartbeat_on = pgboss.job_now(),
      retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
    WHERE j.id = ANY (ARRAY(SELECT next.id FROM next)) AND (j.name = p_queue) IS TRUE
    RETURNING NULL::uuid, j.id, j.priority, j.data, j.retry_count, j.retry_limit, j.heartbeat_seconds, j.dead_letter, j.output,
      j.start_after, j.created_on;
  END IF;
END
$fn$;
