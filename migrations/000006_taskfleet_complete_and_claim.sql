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
-- Both updates change one row per statement, found by its full primary key (name, id): the one
-- plan a single-row equality on both key columns gets, whatever the statistics. Set-based forms
-- were not: with statistics taken while the table was small, a join of the batch's ids with the
-- table ran as a scan of every row of the queue with the ids on the inner side (stock PostgreSQL 15
-- under sustained load: 28,718 rows scanned, 1.9 million join-filter comparisons, 670 ms for 66
-- jobs), and `id = ANY ($ids)` became a filter on that scan once PL/pgSQL switched to its generic
-- plan (200–360 ms per call; the soak's queue grew to 16,000 for a minute).
--
-- Completion is fenced as before (and as pg-boss's own): only the attempt that was claimed
-- (id, retry_count) and is still active is completed; the others (timed out, taken over) are left
-- alone and not returned. Rows come back in two kinds: `settled` set — an attempt completed by
-- this statement (nothing else set); `settled` null — a claimed job.
CREATE FUNCTION taskfleet.complete_and_claim(
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
DECLARE
  k integer;
  next_id uuid;
BEGIN
  -- Completions, one primary-key lookup each (see above: never a scan of the queue).
  FOR k IN 1 .. coalesce(cardinality(p_ids), 0) LOOP
    UPDATE pgboss.job_common j SET state = 'completed', completed_on = pgboss.job_now(), output = p_outputs[k]
    WHERE j.name = p_queue AND j.id = p_ids[k] AND j.retry_count = p_retry_counts[k] AND j.state = 'active';
    IF FOUND THEN
      settled := p_ids[k];
      RETURN NEXT;
    END IF;
  END LOOP;
  settled := NULL;
  IF p_claim > 0 THEN
    -- The ready jobs in index order (locked, skipping those another claim holds), then each one
    -- marked active by its primary key.
    FOR next_id IN
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
    LOOP
      RETURN QUERY
      UPDATE pgboss.job_common j SET
        state = 'active',
        started_on = pgboss.job_now(),
        heartbeat_on = pgboss.job_now(),
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
      WHERE j.name = p_queue AND j.id = next_id
      RETURNING NULL::uuid, j.id, j.priority, j.data, j.retry_count, j.retry_limit, j.heartbeat_seconds, j.dead_letter,
        j.output, j.start_after, j.created_on;
    END LOOP;
  END IF;
END
$fn$;
