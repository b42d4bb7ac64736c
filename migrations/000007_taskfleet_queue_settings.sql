-- Fleet-wide flow control per queue (issue 15): pause, a concurrency limit across every replica, a
-- start-rate limit across every replica. One row per queue that has a setting; a queue without a
-- row (or with everything unset) is claimed exactly as before, at the cost of one primary-key probe.
--
-- Enforced where work is taken — in the claim (taskfleet.complete_and_claim, 000008) — so it holds whatever
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

-- The claim that enforces these settings is taskfleet.complete_and_claim as redefined in 000008
-- (one definition for this release: 000007 and 000008 ship together).
