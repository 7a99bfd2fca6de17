-- Requests taken in but not dispatched (a dispatch that died mid-batch): still work to do.
SELECT COUNT(*) AS open_requests
FROM request_intake_queue
WHERE dispatched_at IS NULL
