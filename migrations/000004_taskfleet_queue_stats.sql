-- One shared snapshot of queue depths. Every API and worker replica exports it, but only the
-- replica that claims the row (claimed_at older than the interval) computes it: one counting
-- query per interval for the whole fleet, however many replicas Prometheus scrapes.
CREATE TABLE taskfleet.queue_stats (
  id          integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  claimed_at  timestamptz NOT NULL DEFAULT '-infinity',
  computed_at timestamptz,
  stats       jsonb NOT NULL DEFAULT '[]'
);
INSERT INTO taskfleet.queue_stats (id) VALUES (1);
