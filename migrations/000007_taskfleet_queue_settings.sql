-- Fleet-wide flow control per queue (issue 15): pause, a concurrency limit across every replica, a
-- start-rate limit across every replica. One row per queue that has a setting; a queue without a
-- row (or with everything unset) is claimed exactly as before, at the cost of one primary-key probe.
--
-- Enforced where work is taken — in the claim (taskfleet.complete_and_claim) — so it holds whatever
-- the replica count, while replicas start, die and scale, and a change applies to the next claim of
-- every replica. The claims of a limited queue are serialised on its settings row (FOR UPDATE):
-- each counts the queue's running jobs and the starts of the last period after the previous claim
-- committed. Unlimited queues take no lock.
--
-- The rate limit is a sliding log, not a token bucket: `recent_starts` keeps the start times of the
-- last `rate_period_seconds` (at most `rate_limit` of them), so no window of that length ever holds
-- more than `rate_limit` starts — a bucket of that size would let twice as many through across a
-- refill boundary.
CREATE TABLE taskfleet.queue_settings (
  queue               text PRIMARY KEY,
  paused              boolean NOT NULL DEFAULT false,
  concurrency         integer CHECK (concurrency >= 1),
  rate_limit          integer CHECK (rate_limit BETWEEN 1 AND 10000),
  rate_period_seconds integer CHECK (rate_period_seconds BETWEEN 1 AND 86400),
  recent_starts       timestamptz[] NOT NULL DEFAULT '{}',
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((rate_limit IS NULL) = (rate_period_seconds IS NULL))
);

-- The running jobs of a queue, counted by a limited claim (at most `concurrency` entries read).
CREATE INDEX IF NOT EXISTS job_common_active ON pgboss.job_common (name) WHERE state = 'active';

-- The completion checks the state as `(state = 'active') IS TRUE`: the plain form implies the
-- predicate of job_common_active, and the planner then read that index — every active and every
-- dead-but-not-yet-vacuumed entry of the queue — instead of looking the batch's ids up (the plan
-- test on a 100,000-row table caught it: 33,333 rows removed by filter).
--
-- Same signature and rows as 000006, plus one kind of row: `settled` and `id` both null — the claim
-- was held back by the queue's settings; `start_after` is when the rate limit lets the next start
-- through (null: paused or at its concurrency — wait for a wake-up), `created_on` the server's now.
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
DECLARE
  s taskfleet.queue_settings%ROWTYPE;
  v_claim integer := p_claim;
  v_claimed integer := 0;
  v_active integer;
  v_recent timestamptz[];
  v_retry_at timestamptz;
  v_limited boolean := false;
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
  IF FOUND AND (s.paused OR s.concurrency IS NOT NULL OR s.rate_limit IS NOT NULL) THEN
    v_limited := true;
    -- Serialise the limited claims of this queue; read the settings as the previous claim left them.
    SELECT * INTO s FROM taskfleet.queue_settings qs WHERE qs.queue = p_queue FOR UPDATE;
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
        WHERE t > pgboss.job_now() - s.rate_period_seconds * interval '1 second' ORDER BY t);
      IF s.rate_limit - cardinality(v_recent) < v_claim THEN
        v_claim := s.rate_limit - cardinality(v_recent);
        -- The next start is allowed when the oldest start that would make the window full leaves it.
        v_retry_at := v_recent[greatest(1, cardinality(v_recent) - s.rate_limit + 1)] + s.rate_period_seconds * interval '1 second';
      END IF;
    END IF;
    v_claim := greatest(v_claim, 0);
  END IF;

  IF v_claim > 0 THEN
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
      started_on = pgboss.job_now(),
      heartbeat_on = pgboss.job_now(),
      retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
    WHERE j.id = ANY (ARRAY(SELECT next.id FROM next)) AND (j.name = p_queue) IS TRUE
    RETURNING NULL::uuid, j.id, j.priority, j.data, j.retry_count, j.retry_limit, j.heartbeat_seconds, j.dead_letter, j.output,
      j.start_after, j.created_on;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
  END IF;

  IF v_limited AND s.rate_limit IS NOT NULL AND v_claimed > 0 THEN
    UPDATE taskfleet.queue_settings qs
    SET recent_starts = v_recent || array_fill(pgboss.job_now(), ARRAY[v_claimed])
    WHERE qs.queue = p_queue;
  END IF;
  IF v_limited AND v_claim < p_claim THEN
    RETURN QUERY SELECT NULL::uuid, NULL::uuid, NULL::integer, NULL::jsonb, NULL::integer, NULL::integer, NULL::integer,
      NULL::text, NULL::jsonb, v_retry_at, pgboss.job_now();
  END IF;
END
$fn$;
