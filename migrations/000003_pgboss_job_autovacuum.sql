-- A job queue rewrites its rows constantly: every fetch moves a row out of the fetch index, every
-- completion updates it again. Until VACUUM clears the dead entries, each fetch walks past all of
-- them, so draining a backlog slows down as it goes (measured: the fetch statement went from
-- 0.9 ms to 5.1 ms per call over a 30,000-job drain with default autovacuum thresholds).
-- Vacuum the shared job table after every 5,000 dead rows instead of after 20% of the table, and
-- without cost-based throttling, so that it keeps up with a drain.
-- (autovacuum_naptime is server-wide; see docs/operations in the README: 1–5 s suits a busy queue.)
ALTER TABLE pgboss.job_common SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_cost_delay = 0,
  autovacuum_vacuum_insert_scale_factor = 0,
  autovacuum_vacuum_insert_threshold = 20000,
  autovacuum_analyze_scale_factor = 0.02
);
