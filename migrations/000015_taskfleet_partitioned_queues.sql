-- Per-queue partitions (issue 18): a task type defined with `partition: true` has its pg-boss queue
-- created partitioned — its jobs live in a table of their own, a partition of pgboss.job
-- (`pgboss.j<sha224 of the name>`, pgboss.queue.table_name) — instead of the shared default partition
-- pgboss.job_common. Until now taskfleet's own claim, completion and rescue named job_common: a
-- partitioned queue's tasks were accepted and never ran. This migration makes them table-aware.
--
-- - Statements through pgboss.job (the API's insert and reads, pg-boss's own, the triggers of
--   000013/000014) already reach the partition: PostgreSQL routes by `name`, and the row triggers
--   made on the partitioned parent are cloned onto every partition, also those attached later
--   (pg-boss's create_queue attaches each new queue table).
-- - What 000003, 000006, 000007 and 000008 added to job_common alone (its autovacuum settings, the
--   indexes by id, of the running jobs and of the grouped ready jobs) a queue table gets from
--   taskfleet.prepare_queue_table, which queue-sync calls for every partitioned queue (and this
--   migration for those that exist already). Index names are the table's plus `_tf…` (≤ 63 bytes).
-- - complete_and_claim and pick_grouped look the queue's table up (one primary-key probe of
--   pgboss.queue). A queue in job_common runs exactly the statements of 000008 (static, planned once
--   per connection). A queue in its own table runs the same statements on that table as dynamic SQL:
--   planned at every call with the same planner settings (the SET clauses), which costs a planning
--   per statement — the price of naming the table, measured by the bench (`npm run bench -- partitions`).
-- - dead_claims reads the running jobs of every table (pgboss.job).

CREATE OR REPLACE FUNCTION taskfleet.prepare_queue_table(p_queue text)
RETURNS text
LANGUAGE plpgsql
AS $fn$
DECLARE
  v_table text;
BEGIN
  SELECT q.table_name INTO v_table FROM pgboss.queue q WHERE q.name = p_queue AND q.partition;
  IF v_table IS NULL THEN
    RETURN NULL;
  END IF;
  -- Checked first: CREATE INDEX IF NOT EXISTS would still take the table's SHARE lock (holding its writes).
  IF to_regclass(format('pgboss.%I', v_table || '_tfid')) IS NULL THEN
    EXECUTE format('CREATE INDEX %I ON pgboss.%I (id)', v_table || '_tfid', v_table);
  END IF;
  IF to_regclass(format('pgboss.%I', v_table || '_tfact')) IS NULL THEN
    EXECUTE format($$CREATE INDEX %I ON pgboss.%I (name) WHERE state = 'active'$$, v_table || '_tfact', v_table);
  END IF;
  IF to_regclass(format('pgboss.%I', v_table || '_tfgrp')) IS NULL THEN
    EXECUTE format($$CREATE INDEX %I ON pgboss.%I (name, group_id, priority DESC, created_on)
      WHERE state < 'active' AND NOT blocked AND group_id IS NOT NULL$$, v_table || '_tfgrp', v_table);
  END IF;
  -- 000003's autovacuum settings, once (an operator's own later settings are left alone).
  IF (SELECT c.reloptions IS NULL FROM pg_class c WHERE c.oid = format('pgboss.%I', v_table)::regclass) THEN
    EXECUTE format('ALTER TABLE pgboss.%I SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
      autovacuum_vacuum_cost_delay = 0, autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 20000,
      autovacuum_analyze_scale_factor = 0.02)', v_table);
  END IF;
  RETURN v_table;
END
$fn$;

SELECT taskfleet.prepare_queue_table(q.name) FROM pgboss.queue q WHERE q.partition;

-- pick_grouped of 000008; on a queue with its own table, its four reads run on that table.
CREATE OR REPLACE FUNCTION taskfleet.pick_grouped(
  p_queue text,
  p_claim integer,
  p_min_priority integer,
  p_group_limit integer,
  p_cursor text,
  OUT ids uuid[],
  OUT last_group text
)
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = on
SET jit = off
AS $fn$
DECLARE
  v_min integer := coalesce(p_min_priority, -2147483648);
  v_at text := p_cursor;
  v_wrapped boolean := p_cursor IS NULL;
  v_next text;
  v_active integer;
  v_seen integer := 0;
  v_groups integer := 0;
  v_ids uuid[] := '{}';
  v_grp text[] := '{}';
  v_rn integer[] := '{}';
  v_ord integer[] := '{}';
  v_cand uuid[];
  v_table text;
BEGIN
  SELECT q.table_name INTO v_table FROM pgboss.queue q WHERE q.name = p_queue AND q.partition;
  -- Tasks without a group: no limit, one more turn in each round.
  IF v_table IS NULL THEN
    v_cand := ARRAY(
      SELECT h.id FROM (
        SELECT j.id, j.group_id FROM pgboss.job_common j
        WHERE j.name = p_queue AND j.state < 'active' AND NOT j.blocked
          AND j.start_after <= pgboss.job_now() AND j.priority >= v_min
        ORDER BY j.priority DESC, j.created_on
        LIMIT 64
      ) h WHERE h.group_id IS NULL LIMIT p_claim);
  ELSE
    EXECUTE format($q$SELECT ARRAY(
      SELECT h.id FROM (
        SELECT j.id, j.group_id FROM pgboss.%I j
        WHERE j.name = $1 AND j.state < 'active' AND NOT j.blocked
          AND j.start_after <= pgboss.job_now() AND j.priority >= $2
        ORDER BY j.priority DESC, j.created_on
        LIMIT 64
      ) h WHERE h.group_id IS NULL LIMIT $3)$q$, v_table) INTO v_cand USING p_queue, v_min, p_claim;
  END IF;
  FOR i IN 1 .. cardinality(v_cand) LOOP
    v_ids := v_ids || v_cand[i]; v_grp := v_grp || NULL::text; v_rn := v_rn || i; v_ord := v_ord || 0;
  END LOOP;

  LOOP
    v_next := NULL;
    IF v_table IS NULL THEN
      SELECT j.group_id INTO v_next FROM pgboss.job_common j
      WHERE j.name = p_queue AND j.state < 'active' AND NOT j.blocked AND j.group_id IS NOT NULL
        AND j.group_id > coalesce(v_at, '')
      ORDER BY j.group_id
      LIMIT 1;
    ELSE
      EXECUTE format($q$SELECT j.group_id FROM pgboss.%I j
        WHERE j.name = $1 AND j.state < 'active' AND NOT j.blocked AND j.group_id IS NOT NULL
          AND j.group_id > coalesce($2, '')
        ORDER BY j.group_id
        LIMIT 1$q$, v_table) INTO v_next USING p_queue, v_at;
    END IF;
    IF v_next IS NULL THEN
      EXIT WHEN v_wrapped;
      v_wrapped := true;
      v_at := NULL;
      CONTINUE;
    END IF;
    EXIT WHEN v_wrapped AND p_cursor IS NOT NULL AND v_next > p_cursor;
    v_at := v_next;
    v_seen := v_seen + 1;
    IF v_table IS NULL THEN
      SELECT count(*) INTO v_active FROM (
        SELECT 1 FROM pgboss.job_common a
        WHERE a.name = p_queue AND a.group_id = v_next AND a.state = 'active' AND a.group_id IS NOT NULL
        LIMIT p_group_limit) t;
    ELSE
      EXECUTE format($q$SELECT count(*) FROM (
        SELECT 1 FROM pgboss.%I a
        WHERE a.name = $1 AND a.group_id = $2 AND a.state = 'active' AND a.group_id IS NOT NULL
        LIMIT $3) t$q$, v_table) INTO v_active USING p_queue, v_next, p_group_limit;
    END IF;
    IF v_active < p_group_limit THEN
      IF v_table IS NULL THEN
        v_cand := ARRAY(
          SELECT j.id FROM pgboss.job_common j
          WHERE j.name = p_queue AND j.group_id = v_next AND j.state < 'active' AND NOT j.blocked AND j.group_id IS NOT NULL
            AND j.start_after <= pgboss.job_now() AND j.priority >= v_min
          ORDER BY j.priority DESC, j.created_on
          LIMIT least(p_group_limit - v_active, p_claim));
      ELSE
        EXECUTE format($q$SELECT ARRAY(
          SELECT j.id FROM pgboss.%I j
          WHERE j.name = $1 AND j.group_id = $2 AND j.state < 'active' AND NOT j.blocked AND j.group_id IS NOT NULL
            AND j.start_after <= pgboss.job_now() AND j.priority >= $3
          ORDER BY j.priority DESC, j.created_on
          LIMIT $4)$q$, v_table) INTO v_cand USING p_queue, v_next, v_min, least(p_group_limit - v_active, p_claim);
      END IF;
      IF cardinality(v_cand) > 0 THEN
        v_groups := v_groups + 1;
        FOR i IN 1 .. cardinality(v_cand) LOOP
          v_ids := v_ids || v_cand[i]; v_grp := v_grp || v_next; v_rn := v_rn || i; v_ord := v_ord || v_seen;
        END LOOP;
      END IF;
    END IF;
    EXIT WHEN v_groups >= p_claim OR v_seen >= 1000;
  END LOOP;

  SELECT array_agg(p.id ORDER BY p.rn, p.ord), (array_agg(p.grp ORDER BY p.rn DESC, p.ord DESC) FILTER (WHERE p.grp IS NOT NULL))[1]
  INTO ids, last_group
  FROM (
    SELECT u.id, u.grp, u.rn, u.ord FROM unnest(v_ids, v_grp, v_rn, v_ord) AS u(id, grp, rn, ord)
    ORDER BY u.rn, u.ord LIMIT p_claim
  ) p;
  ids := coalesce(ids, '{}');
END
$fn$;

-- complete_and_claim of 000008 (same signature, same rows); on a queue with its own table, its four
-- statements on jobs run on that table.
CREATE OR REPLACE FUNCTION taskfleet.complete_and_claim(
  p_queue text,
  p_ids uuid[],
  p_retry_counts integer[],
  p_outputs jsonb[],
  p_claim integer,
  p_min_priority integer DEFAULT NULL,
  p_owner uuid DEFAULT NULL
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
SET jit = off
AS $fn$
#variable_conflict use_column
DECLARE
  s taskfleet.queue_settings%ROWTYPE;
  v_claim integer := p_claim;
  v_claimed integer := 0;
  v_active integer;
  v_recent timestamptz[];
  v_retry_at timestamptz;
  v_limited boolean := false;
  v_ids uuid[];
  v_last_group text;
  v_now timestamptz;
  v_table text;
BEGIN
  -- The queue's own table, if it has one (NULL: the shared job_common).
  SELECT q.table_name INTO v_table FROM pgboss.queue q WHERE q.name = p_queue AND q.partition;
  IF cardinality(p_ids) > 0 THEN
    IF v_table IS NULL THEN
      RETURN QUERY
      UPDATE pgboss.job_common j SET state = 'completed', completed_on = pgboss.job_now(), output = i.output
      FROM unnest(p_ids, p_retry_counts, p_outputs) AS i(id, retry_count, output)
      WHERE j.id = ANY (p_ids) AND (j.name = p_queue) IS TRUE AND j.id = i.id AND j.retry_count = i.retry_count
        AND (j.state = 'active') IS TRUE
      RETURNING j.id, NULL::uuid, NULL::integer, NULL::jsonb, NULL::integer, NULL::integer, NULL::integer, NULL::text,
        NULL::jsonb, NULL::timestamptz, NULL::timestamptz;
    ELSE
      RETURN QUERY EXECUTE format($q$
      UPDATE pgboss.%I j SET state = 'completed', completed_on = pgboss.job_now(), output = i.output
      FROM unnest($1::uuid[], $2::integer[], $3::jsonb[]) AS i(id, retry_count, output)
      WHERE j.id = ANY ($1) AND (j.name = $4) IS TRUE AND j.id = i.id AND j.retry_count = i.retry_count
        AND (j.state = 'active') IS TRUE
      RETURNING j.id, NULL::uuid, NULL::integer, NULL::jsonb, NULL::integer, NULL::integer, NULL::integer, NULL::text,
        NULL::jsonb, NULL::timestamptz, NULL::timestamptz$q$, v_table)
      USING p_ids, p_retry_counts, p_outputs, p_queue;
    END IF;
  END IF;
  IF p_claim <= 0 THEN
    RETURN;
  END IF;

  SELECT * INTO s FROM taskfleet.queue_settings qs WHERE qs.queue = p_queue;
  IF FOUND AND (s.paused OR s.concurrency IS NOT NULL OR s.rate_limit IS NOT NULL OR s.group_concurrency IS NOT NULL) THEN
    v_limited := true;
    SELECT * INTO s FROM taskfleet.queue_settings qs WHERE qs.queue = p_queue FOR UPDATE;
    v_now := clock_timestamp();
    IF s.paused THEN
      v_claim := 0;
    END IF;
    IF v_claim > 0 AND s.concurrency IS NOT NULL THEN
      IF v_table IS NULL THEN
        SELECT count(*) INTO v_active
        FROM (SELECT 1 FROM pgboss.job_common j WHERE j.name = p_queue AND j.state = 'active' LIMIT s.concurrency) t;
      ELSE
        EXECUTE format($q$SELECT count(*) FROM (SELECT 1 FROM pgboss.%I j WHERE j.name = $1 AND j.state = 'active' LIMIT $2) t$q$,
          v_table) INTO v_active USING p_queue, s.concurrency;
      END IF;
      v_claim := least(v_claim, s.concurrency - v_active);
    END IF;
    IF v_claim > 0 AND s.rate_limit IS NOT NULL THEN
      v_recent := ARRAY(
        SELECT t FROM unnest(s.recent_starts) AS t
        WHERE t > v_now - s.rate_period_seconds * interval '1 second' ORDER BY t);
      IF s.rate_limit - cardinality(v_recent) < v_claim THEN
        v_claim := s.rate_limit - cardinality(v_recent);
        v_retry_at := v_recent[greatest(1, cardinality(v_recent) - s.rate_limit + 1)] + s.rate_period_seconds * interval '1 second';
      END IF;
    END IF;
    v_claim := greatest(v_claim, 0);
  END IF;

  IF v_claim > 0 AND v_limited AND s.group_concurrency IS NOT NULL THEN
    SELECT p.ids, p.last_group INTO v_ids, v_last_group
    FROM taskfleet.pick_grouped(p_queue, v_claim, p_min_priority, s.group_concurrency, s.group_cursor) p;
    IF v_table IS NULL THEN
      RETURN QUERY
      UPDATE pgboss.job_common j SET
        state = 'active',
        started_on = coalesce(v_now, pgboss.job_now()),
        heartbeat_on = coalesce(v_now, pgboss.job_now()),
        claimed_by = p_owner,
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
      WHERE j.id = ANY (v_ids) AND (j.name = p_queue) IS TRUE AND (j.state < 'active') IS TRUE
      RETURNING NULL::uuid, j.id, j.priority, j.data, j.retry_count, j.retry_limit, j.heartbeat_seconds, j.dead_letter, j.output,
        j.start_after, j.created_on;
    ELSE
      RETURN QUERY EXECUTE format($q$
      UPDATE pgboss.%I j SET
        state = 'active',
        started_on = coalesce($3, pgboss.job_now()),
        heartbeat_on = coalesce($3, pgboss.job_now()),
        claimed_by = $4,
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
      WHERE j.id = ANY ($1) AND (j.name = $2) IS TRUE AND (j.state < 'active') IS TRUE
      RETURNING NULL::uuid, j.id, j.priority, j.data, j.retry_count, j.retry_limit, j.heartbeat_seconds, j.dead_letter, j.output,
        j.start_after, j.created_on$q$, v_table)
      USING v_ids, p_queue, v_now, p_owner;
    END IF;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    IF v_last_group IS NOT NULL THEN
      UPDATE taskfleet.queue_settings qs SET group_cursor = v_last_group WHERE qs.queue = p_queue;
    END IF;
  ELSIF v_claim > 0 THEN
    IF v_table IS NULL THEN
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
        LIMIT v_claim
        FOR UPDATE OF j SKIP LOCKED
      )
      UPDATE pgboss.job_common j SET
        state = 'active',
        started_on = coalesce(v_now, pgboss.job_now()),
        heartbeat_on = coalesce(v_now, pgboss.job_now()),
        claimed_by = p_owner,
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
      WHERE j.id = ANY (ARRAY(SELECT next.id FROM next)) AND (j.name = p_queue) IS TRUE
      RETURNING NULL::uuid, j.id, j.priority, j.data, j.retry_count, j.retry_limit, j.heartbeat_seconds, j.dead_letter, j.output,
        j.start_after, j.created_on;
    ELSE
      RETURN QUERY EXECUTE format($q$
      WITH next AS (
        SELECT j.id
        FROM pgboss.%1$I j
        WHERE j.name = $1
          AND j.state < 'active'
          AND NOT j.blocked
          AND j.start_after <= pgboss.job_now()
          AND j.priority >= coalesce($2, -2147483648)
        ORDER BY j.priority DESC, j.created_on
        LIMIT $3
        FOR UPDATE OF j SKIP LOCKED
      )
      UPDATE pgboss.%1$I j SET
        state = 'active',
        started_on = coalesce($4, pgboss.job_now()),
        heartbeat_on = coalesce($4, pgboss.job_now()),
        claimed_by = $5,
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
      WHERE j.id = ANY (ARRAY(SELECT next.id FROM next)) AND (j.name = $1) IS TRUE
      RETURNING NULL::uuid, j.id, j.priority, j.data, j.retry_count, j.retry_limit, j.heartbeat_seconds, j.dead_letter, j.output,
        j.start_after, j.created_on$q$, v_table)
      USING p_queue, p_min_priority, v_claim, v_now, p_owner;
    END IF;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
  END IF;

  IF v_limited AND s.rate_limit IS NOT NULL AND v_claimed > 0 THEN
    UPDATE taskfleet.queue_settings qs
    SET recent_starts = v_recent || array_fill(v_now, ARRAY[v_claimed])
    WHERE qs.queue = p_queue;
  END IF;
  IF v_limited AND v_claim < p_claim THEN
    RETURN QUERY SELECT NULL::uuid, NULL::uuid, NULL::integer, NULL::jsonb, NULL::integer, NULL::integer, NULL::integer,
      NULL::text, NULL::jsonb, v_retry_at, coalesce(v_now, pgboss.job_now());
  END IF;
END
$fn$;

-- dead_claims of 000010, over every job table (pgboss.job): each queue table has its running-jobs
-- index (job_common_active, or the table's `_tfact`).
CREATE OR REPLACE FUNCTION taskfleet.dead_claims(p_self uuid, p_dead_after_seconds integer)
RETURNS TABLE (queue text, owner uuid, ids uuid[], retry_counts integer[])
LANGUAGE sql
STABLE
SET enable_seqscan = off
SET enable_bitmapscan = off
SET jit = off
AS $fn$
  SELECT j.name, j.claimed_by, array_agg(j.id), array_agg(j.retry_count)
  FROM pgboss.job j
  WHERE j.state = 'active' AND j.claimed_by IS NOT NULL AND j.claimed_by <> p_self
    AND NOT EXISTS (
      SELECT 1 FROM taskfleet.workers w
      WHERE w.incarnation = j.claimed_by AND w.seen_at > now() - p_dead_after_seconds * interval '1 second')
  GROUP BY j.name, j.claimed_by
$fn$;
