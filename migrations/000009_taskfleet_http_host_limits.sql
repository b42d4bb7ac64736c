-- Fleet-wide limits per receiving host for http.request (issue 15): at most
-- HTTP_REQUEST_HOST_CONCURRENCY requests in flight to one host and at most
-- HTTP_REQUEST_HOST_RATE_PER_SECOND started per second, across every worker replica and whatever
-- queue the task came from.
--
-- A request in flight holds a lease (one row), deleted when the request ends; a replica that dies
-- mid-request leaves its lease to expire (`expires_at`: the attempt's deadline plus a margin). The
-- rate is a sliding log of the last second's starts per host, as for queues (000007).
CREATE TABLE taskfleet.http_host_leases (
  host       text NOT NULL,
  holder     uuid NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (host, holder)
);

CREATE TABLE taskfleet.http_host_starts (
  host          text PRIMARY KEY,
  recent_starts timestamptz[] NOT NULL DEFAULT '{}'
);

-- Take a slot for `p_holder` (a task id) to send one request to `p_host`. Returns 0 when taken;
-- otherwise the milliseconds until the rate lets a start through, or NULL when the host is at its
-- concurrency (a lease must end first). Either limit may be NULL (unlimited). Callers of one host
-- are serialised by a transaction-level advisory lock, so the count and the insert agree.
CREATE OR REPLACE FUNCTION taskfleet.acquire_http_host(
  p_host text,
  p_holder uuid,
  p_concurrency integer,
  p_rate_per_second integer,
  p_lease_seconds integer
)
RETURNS double precision
LANGUAGE plpgsql
AS $fn$
DECLARE
  v_now timestamptz;
  v_recent timestamptz[];
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('taskfleet.http_host'), hashtext(p_host));
  -- The time after the lock: a caller that waited for it must not log its start as earlier.
  v_now := clock_timestamp();
  IF p_concurrency IS NOT NULL THEN
    DELETE FROM taskfleet.http_host_leases l WHERE l.host = p_host AND l.expires_at < v_now;
    IF (SELECT count(*) FROM taskfleet.http_host_leases l WHERE l.host = p_host AND l.holder <> p_holder) >= p_concurrency THEN
      RETURN NULL;
    END IF;
  END IF;
  IF p_rate_per_second IS NOT NULL THEN
    v_recent := ARRAY(
      SELECT t FROM unnest((SELECT s.recent_starts FROM taskfleet.http_host_starts s WHERE s.host = p_host)) AS t
      WHERE t > v_now - interval '1 second' ORDER BY t);
    IF cardinality(v_recent) >= p_rate_per_second THEN
      RETURN greatest(1, extract(epoch FROM (v_recent[cardinality(v_recent) - p_rate_per_second + 1] + interval '1 second' - v_now)) * 1000);
    END IF;
    INSERT INTO taskfleet.http_host_starts AS s (host, recent_starts) VALUES (p_host, v_recent || v_now)
    ON CONFLICT (host) DO UPDATE SET recent_starts = v_recent || v_now;
  END IF;
  IF p_concurrency IS NOT NULL THEN
    INSERT INTO taskfleet.http_host_leases (host, holder, expires_at)
    VALUES (p_host, p_holder, v_now + p_lease_seconds * interval '1 second')
    ON CONFLICT (host, holder) DO UPDATE SET expires_at = excluded.expires_at;
  END IF;
  RETURN 0;
END
$fn$;
