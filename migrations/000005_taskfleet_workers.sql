-- Worker presence: each worker replica upserts its row every few seconds (slots in use, limit,
-- queues) and deletes it when it stops. The API lists replicas seen recently (dashboard, CLI).
CREATE TABLE taskfleet.workers (
  id          text PRIMARY KEY,
  hostname    text NOT NULL,
  pid         integer NOT NULL,
  queues      text[] NOT NULL,
  concurrency integer NOT NULL,
  active      integer NOT NULL DEFAULT 0,
  started_at  timestamptz NOT NULL DEFAULT now(),
  seen_at     timestamptz NOT NULL DEFAULT now()
);
