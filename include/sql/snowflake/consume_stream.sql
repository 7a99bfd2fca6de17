-- Take new worktable requests into the intake queue. This INSERT reads the stream, so its
-- commit advances the stream offset in the same transaction: nothing is taken twice, and a
-- rollback (a crash) leaves the rows in the stream for the next run.
INSERT INTO request_intake_queue (request_id, enqueued_at)
SELECT s.request_id, :now
FROM report_requests_stream AS s
WHERE s.METADATA$ACTION = 'INSERT'
  AND s.status = 'PENDING'
  AND s.trigger_type = 'ADHOC'
  AND NOT EXISTS (SELECT 1 FROM request_intake_queue AS q WHERE q.request_id = s.request_id)
