-- The queue snapshot behind the depth gauges (issue 16): exact up to a cap per queue, estimated above
-- it, so its cost stays flat however deep a queue gets. Counting every live job by queue, priority
-- and state took 150 ms on the stock PostgreSQL 15 and 83 ms on the embedded 18 at 1,000,000 waiting
-- (a parallel scan of the whole table); this stays within a few tens of ms (bench: backlog).
--
-- - Waiting jobs (created, retry): per queue, at most p_cap + 1 rows in the claim index's order
--   (pg-boss's `name, priority DESC, created_on` partial index; an index-only walk). A queue with no
--   more than p_cap waiting is counted exactly, by priority and state.
-- - Queues with more are estimated from one block sample of the job table (TABLESAMPLE SYSTEM,
--   ~5 % of its pages, between 500 and 2,000 pages, all of them when it is smaller), each count
--   scaled by the sampled share; their rows say `estimated`. The sample is drawn anew per snapshot,
--   so an estimate's error is statistical (docs/operations.md, "Queue depth at scale"). Their
--   oldest ready age, per priority, comes from its 100 first jobs in claim (submission) order.
-- - Active jobs are counted exactly (partial index job_common_active, 000007).
-- Jobs pg-boss holds `blocked` (its dependency feature; taskfleet does not use it) are not counted.
-- A queue and priority may come in two rows (waiting, active): the caller adds them up.
-- JIT off: on a stock server the sample's cost estimate crosses jit_above_cost, and compiling costs
-- more than the query.
CREATE OR REPLACE FUNCTION taskfleet.queue_snapshot(p_cap integer)
RETURNS TABLE (queue text, priority integer, ready integer, scheduled integer, retrying integer, active integer,
  oldest_ready_age_seconds float8, estimated boolean)
LANGUAGE plpgsql
STABLE
SET jit = off
AS $fn$
DECLARE
  r record;
  v_over text[] := '{}';
  v_pages float8;
  v_percent float8;
BEGIN
  FOR r IN
    SELECT q.name, w.priority,
      count(*) FILTER (WHERE w.start_after <= now())::int AS ready,
      count(*) FILTER (WHERE w.state = 'created' AND w.start_after > now())::int AS scheduled,
      count(*) FILTER (WHERE w.state = 'retry' AND w.start_after > now())::int AS retrying,
      extract(epoch FROM now() - min(w.start_after) FILTER (WHERE w.start_after <= now()))::float8 AS oldest,
      (sum(count(*)) OVER (PARTITION BY q.name))::int AS queue_waiting
    FROM pgboss.queue q
    CROSS JOIN LATERAL (
      SELECT j.priority, j.state, j.start_after FROM pgboss.job j
      WHERE j.name = q.name AND j.state < 'active' AND NOT j.blocked
      ORDER BY j.priority DESC, j.created_on
      LIMIT p_cap + 1
    ) w
    GROUP BY q.name, w.priority
  LOOP
    IF r.queue_waiting > p_cap THEN
      IF NOT r.name = ANY (v_over) THEN v_over := v_over || r.name; END IF;
    ELSE
      queue := r.name; priority := r.priority; ready := r.ready; scheduled := r.scheduled; retrying := r.retrying;
      active := 0; oldest_ready_age_seconds := r.oldest; estimated := false;
      RETURN NEXT;
    END IF;
  END LOOP;

  IF cardinality(v_over) > 0 THEN
    SELECT coalesce(sum(pg_relation_size(i.inhrelid)), 0)::float8 / current_setting('block_size')::float8
    INTO v_pages FROM pg_inherits i WHERE i.inhparent = 'pgboss.job'::regclass;
    v_percent := CASE WHEN v_pages <= 500 THEN 100
      ELSE least(100, 100 * least(2000, greatest(500, v_pages * 0.05)) / v_pages) END;
    RETURN QUERY
    SELECT s.name, s.priority, s.ready, s.scheduled, s.retrying, 0,
      (SELECT extract(epoch FROM now() - min(f.start_after))::float8 FROM (
        SELECT j.start_after FROM pgboss.job j
        WHERE j.name = s.name AND j.priority = s.priority AND j.state < 'active' AND NOT j.blocked
        ORDER BY j.priority DESC, j.created_on LIMIT 100) f
       WHERE f.start_after <= now()),
      true
    FROM (
      SELECT j.name, j.priority,
        round(count(*) FILTER (WHERE j.start_after <= now()) * 100 / v_percent)::int AS ready,
        round(count(*) FILTER (WHERE j.state = 'created' AND j.start_after > now()) * 100 / v_percent)::int AS scheduled,
        round(count(*) FILTER (WHERE j.state = 'retry' AND j.start_after > now()) * 100 / v_percent)::int AS retrying
      FROM pgboss.job j TABLESAMPLE SYSTEM (v_percent)
      WHERE j.name = ANY (v_over) AND j.state < 'active' AND NOT j.blocked
      GROUP BY j.name, j.priority
    ) s;
  END IF;

  RETURN QUERY
  SELECT j.name, j.priority, 0, 0, 0, count(*)::int, NULL::float8, false
  FROM pgboss.job j WHERE j.state = 'active'
  GROUP BY j.name, j.priority;
END
$fn$;
