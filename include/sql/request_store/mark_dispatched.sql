-- Written after the request's DAG run exists (or after it was refused): a replay skips it.
UPDATE request_intake_queue
SET dispatched_at = :now, outcome = :outcome, dag_run_id = :dag_run_id
WHERE request_id = :request_id
  AND dispatched_at IS NULL
