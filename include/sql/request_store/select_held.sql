-- Requests waiting for the retry DAG, oldest first: the first of each (report, parameters) is kept.
SELECT request_id, report_id, parameters, distribution_overrides, priority, requested_by, requested_at, attempt
FROM report_requests
WHERE status = 'HELD'
ORDER BY requested_at, request_id
