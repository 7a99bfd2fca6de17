-- Fallback for request stores without streams (SQLite, PostgreSQL): take every worktable
-- request not yet in the intake queue. Requests created by a report run itself (SCHEDULED,
-- MANUAL, API) already have their run and never enter the intake.
INSERT INTO request_intake_queue (request_id, enqueued_at)
SELECT r.request_id, :now
FROM report_requests AS r
WHERE r.status = 'PENDING'
  AND r.trigger_type = 'ADHOC'
  AND NOT EXISTS (SELECT 1 FROM request_intake_queue AS q WHERE q.request_id = r.request_id)
