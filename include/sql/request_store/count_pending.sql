-- What the fallback sensor polls: worktable requests the intake has not taken in yet.
SELECT COUNT(*) AS pending
FROM report_requests AS r
WHERE r.status = 'PENDING'
  AND r.trigger_type = 'ADHOC'
  AND NOT EXISTS (SELECT 1 FROM request_intake_queue AS q WHERE q.request_id = r.request_id)
