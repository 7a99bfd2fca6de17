-- One conditional move: it changes the row only while the expected status still holds,
-- so two runs can never both claim a request and a replayed task never moves it backwards.
UPDATE report_requests
SET status = :new_status,
    updated_at = :now,
    attempt = attempt + :attempt_increment,
    dag_run_id = COALESCE(:dag_run_id, dag_run_id),
    processed_at = COALESCE(:processed_at, processed_at),
    completed_at = COALESCE(:completed_at, completed_at),
    last_error = COALESCE(:last_error, last_error)
WHERE request_id = :request_id
  AND status = :expected_status
