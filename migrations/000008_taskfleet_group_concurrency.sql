-- Per-group (tenant) fairness for a queue (issue 15): `group_concurrency` bounds the tasks of one
-- group running at once across the fleet, and the claim takes the groups in turn (round-robin from
-- `group_cursor`, the last group served), so a tenant with 100,000 queued tasks takes its share of
-- the free slots and no more, and another tenant's task waits at most for one free slot.
--
-- A task's group is pg-boss 12's own `group_id` column (counted while active by pg-boss's job_i7);
-- the claim is taskfleet's, not pg-boss's fetch(): that one filters candidates in queue order and
-- reads past every queued task of a full group before it reaches another group's.
--
-- Also here (issue 20): the claim records which worker process took a job (`claimed_by`, its
-- incarnation id), so a dead replica's jobs can be found and given back at once (migration 000010).
ALTER TABLE pgboss.job ADD COLUMN IF NOT EXISTS claimed_by uuid;

ALTER TABLE taskfleet.queue_settings
  ADD COLUMN group_concurrency integer CHECK (group_concurrency >= 1),
  ADD COLUMN group_cursor text;

-- The queued tasks of each group in claim order: the claim walks the distinct groups of a queue
-- (one probe each) and reads the head of each. Only grouped tasks are in it: ungrouped inserts pay
-- nothing for it.
CREATE INDEX IF NOT EXISTS job_common_ready_group ON pgboss.job_common (name, group_id, priority DESC, created_on)
  WHERE state < 'active' AND NOT blocked AND group_id IS NOT NULL;

-- Up to `p_claim` runnable tasks of `p_queue`, one per group per round, each group up to
-- `p_group_limit` running, starting after `p_cursor`; tasks without a group take part as one more
-- group without a limit (from the first 64 of the queue's plain order). Returns their ids in that
-- order and the last group served (the next cursor). Reads only: the caller updates the rows and
-- holds the queue's settings row, which serialises the group-limited claims of the queue.
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
-- Its last statement sorts (the turn order); the caller turns sorting off for its own statements.
-- On PostgreSQL < 18 a disabled node adds 1e10 to the cost, which then crosses jit_above_cost and
-- JIT-compiles a 10-row sort: 100 ms instead of 0.1 ms (measured on the stock PostgreSQL 15).
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
BEGIN
  -- Tasks without a group: no limit, one more turn in each round.
  v_cand := ARRAY(
    SELECT h.id FROM (
      SELECT j.id, j.group_id FROM pgboss.job_common j
      WHERE j.name = p_queue AND j.state < 'active' AND NOT j.blocked
        AND j.start_after <= pgboss.job_now() AND j.priority >= v_min
      ORDER BY j.priority DESC, j.created_on
      LIMIT 64
    ) h WHERE h.group_id IS NULL LIMIT p_claim);
  FOR i IN 1 .. cardinality(v_cand) LOOP
    v_ids := v_ids || v_cand[i]; v_grp := v_grp || NULL::text; v_rn := v_rn || i; v_ord := v_ord || 0;
  END LOOP;

  LOOP
    v_next := NULL;
    SELECT j.group_id INTO v_next FROM pgboss.job_common j
    WHERE j.name = p_queue AND j.state < 'active' AND NOT j.blocked AND j.group_id IS NOT NULL
      AND j.group_id > coalesce(v_at, '')
    ORDER BY j.group_id
    LIMIT 1;
    IF v_next IS NULL THEN
      EXIT WHEN v_wrapped;
      v_wrapped := true;
      v_at := NULL;
      CONTINUE;
    END IF;
    EXIT WHEN v_wrapped AND p_cursor IS NOT NULL AND v_next > p_cursor;
    v_at := v_next;
    v_seen := v_seen + 1;
    SELECT count(*) INTO v_active FROM (
      SELECT 1 FROM pgboss.job_common a
      WHERE a.name = p_queue AND a.group_id = v_next AND a.state = 'active' AND a.group_id IS NOT NULL
      LIMIT p_group_limit) t;
    IF v_active < p_group_limit THEN
      v_cand := ARRAY(
        SELECT j.id FROM pgboss.job_common j
        WHERE j.name = p_queue AND j.group_id = v_next AND j.state < 'active' AND NOT j.blocked AND j.group_id IS NOT NULL
          AND j.start_after <= pgboss.job_now() AND j.priority >= v_min
        ORDER BY j.priority DESC, j.created_on
        LIMIT least(p_group_limit - v_active, p_claim));
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

-- complete_and_claim: 000006's, with the queue settings of 000007 and the groups above enforced, and
-- one more argument, `p_owner` (stored as the claimed jobs' claimed_by), so the old signature goes
-- first.
--
-- Settings: the claims of a limited queue are serialised on its settings row (FOR UPDATE); paused
-- claims nothing; `concurrency` counts the running jobs (job_common_active, at most `concurrency`
-- entries); `rate` keeps a sliding log of starts. A queue with `group_concurrency` is claimed through
-- pick_grouped (one group per turn, each group up to its limit) under the same lock. A limited claim
-- reads the clock after that lock, not at its transaction's start, for the rate log and the jobs'
-- started_on: a claim that waited for the lock must not log (or stamp) its starts as earlier than
-- they are, or they leave the window early and let more through. JIT is off: a claim never runs long
-- enough to pay for compiling, and on PostgreSQL < 18 a disabled plan node's cost (1e10) would cross
-- jit_above_cost.
--
-- The completion checks the state as `(state = 'active') IS TRUE`: the plain form implies the
-- predicate of job_common_active, and the planner then read that index — every active and every
-- dead-but-not-yet-vacuumed entry of the queue — instead of looking the batch's ids up (the plan
-- test on a 100,000-row table caught it: 33,333 rows removed by filter).
--
-- Rows as 000006's, plus one kind of row: `settled` and `id` both null — the claim
-- was held back by the queue's settings; `start_after` is when the rate limit lets the next start
-- through (null: paused or at its concurrency — wait for a wake-up), `created_on` the server's now.
DROP FUNCTION taskfleet.complete_and_claim(text, uuid[], integer[], jsonb[], integer, integer);

CREATE FUNCTION taskfleet.complete_and_claim(
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
BEGIN
  IF cardinality(p_ids) > 0 THEN
    RETURN QUERY
    UPDATE pgboss.job_common j SET state = 'completed', completed_on = pgboss.job_now(), output = i.output
    FROM unnest(p_ids, p_retry_counts, p_outputs) AS i(id, retry_count, output)
    WHERE j.id = ANY (p_ids) AND (j.name = p_queue) IS TRUE AND j.id = i.id AND j.retry_count = i.retry_count
      AND (j.state = 'active') IS TRUE
    RETURNING j.id, NULL::uuid, NULL::integer, NULL::jsonb, NULL::integer, NULL::integer, NULL::integer, NULL::text,
      NULL::jsonb, NULL::timestamptz, NULL::timestamptz;
  END IF;
  IF p_claim <= 0 THEN
    RETURN;
  END IF;

  SELECT * INTO s FROM taskfleet.queue_settings qs WHERE qs.queue = p_queue;
  IF FOUND AND (s.paused OR s.concurrency IS NOT NULL OR s.rate_limit IS NOT NULL OR s.group_concurrency IS NOT NULL) THEN
    v_limited := true;
    -- Serialise the limited claims of this queue; read the settings as the previous claim left them.
    SELECT * INTO s FROM taskfleet.queue_settings qs WHERE qs.queue = p_queue FOR UPDATE;
    -- The rate log's clock, read after the lock: a claim that waited for it must not log its starts
    -- as earlier than they are (they would leave the window early and let more through).
    v_now := clock_timestamp();
    IF s.paused THEN
      v_claim := 0;
    END IF;
    IF v_claim > 0 AND s.concurrency IS NOT NULL THEN
      SELECT count(*) INTO v_active
      FROM (SELECT 1 FROM pgboss.job_common j WHERE j.name = p_queue AND j.state = 'active' LIMIT s.concurrency) t;
      v_claim := least(v_claim, s.concurrency - v_active);
    END IF;
    IF v_claim > 0 AND s.rate_limit IS NOT NULL THEN
      v_recent := ARRAY(
        SELECT t FROM unnest(s.recent_starts) AS t
        WHERE t > v_now - s.rate_period_seconds * interval '1 second' ORDER BY t);
      IF s.rate_limit - cardinality(v_recent) < v_claim THEN
        v_claim := s.rate_limit - cardinality(v_recent);
        -- The next start is allowed when the oldest start that would make the window full leaves it.
        v_retry_at := v_recent[greatest(1, cardinality(v_recent) - s.rate_limit + 1)] + s.rate_period_seconds * interval '1 second';
      END IF;
    END IF;
    v_claim := greatest(v_claim, 0);
  END IF;

  IF v_claim > 0 AND v_limited AND s.group_concurrency IS NOT NULL THEN
    SELECT p.ids, p.last_group INTO v_ids, v_last_group
    FROM taskfleet.pick_grouped(p_queue, v_claim, p_min_priority, s.group_concurrency, s.group_cursor) p;
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
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    IF v_last_group IS NOT NULL THEN
      UPDATE taskfleet.queue_settings qs SET group_cursor = v_last_group WHERE qs.queue = p_queue;
    END IF;
  ELSIF v_claim > 0 THEN
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
