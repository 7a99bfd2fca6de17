-- Requests taken in but not dispatched yet, highest priority first, oldest first within a priority.
SELECT r.request_id, r.report_id, r.parameters, r.distribution_overrides, r.priority, r.requested_by,
       r.requested_at, r.status
FROM request_intake_queue AS q
JOIN report_requests AS r ON r.request_id = q.request_id
WHERE q.dispatched_at IS NULL
ORDER BY r.priority DESC, r.requested_at, r.request_id
