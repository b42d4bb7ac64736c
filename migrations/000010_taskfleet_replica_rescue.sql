-- A dead worker replica's jobs go back to their queues within seconds (issue 20), not after their
-- heartbeat lapses (30 s) plus the next maintenance pass (30 s).
--
-- Each worker process has an incarnation id (a UUID made at start): its presence row carries it and
-- its claims stamp it on the jobs (`pgboss.job.claimed_by`, 000008). A presence row is keyed by the
-- incarnation, so a replica restarted with the same WORKER_ID is a new row and never adopts, nor
-- re-claims, what its predecessor held. Rows no longer beat (`seen_at`) are pruned after an hour.
ALTER TABLE taskfleet.workers ADD COLUMN incarnation uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE taskfleet.workers DROP CONSTRAINT workers_pkey;
ALTER TABLE taskfleet.workers ADD PRIMARY KEY (incarnation);
CREATE INDEX workers_id ON taskfleet.workers (id);

-- The running jobs whose worker process is not alive: claimed by an incarnation without a presence
-- row seen in the last `p_dead_after_seconds` (stale: SIGKILL, OOM, a lost machine, a partition; or
-- gone: it stopped without settling them). The caller's own incarnation is never among them. By
-- queue, with each attempt's retry_count (the fence of the give-back). Reads only the running jobs
-- (the partial index job_common_active, 000007): a few hundred rows at most, not the queue.
CREATE OR REPLACE FUNCTION taskfleet.dead_claims(p_self uuid, p_dead_after_seconds integer)
RETURNS TABLE (queue text, owner uuid, ids uuid[], retry_counts integer[])
LANGUAGE sql
STABLE
SET enable_seqscan = off
SET enable_bitmapscan = off
SET jit = off
AS $fn$
  SELECT j.name, j.claimed_by, array_agg(j.id), array_agg(j.retry_count)
  FROM pgboss.job_common j
  WHERE j.state = 'active' AND j.claimed_by IS NOT NULL AND j.claimed_by <> p_self
    AND NOT EXISTS (
      SELECT 1 FROM taskfleet.workers w
      WHERE w.incarnation = j.claimed_by AND w.seen_at > now() - p_dead_after_seconds * interval '1 second')
  GROUP BY j.name, j.claimed_by
$fn$;
