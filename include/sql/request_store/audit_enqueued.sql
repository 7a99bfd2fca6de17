-- The first line of a worktable request's trail, written in the transaction that takes it in.
INSERT INTO audit_log (
    request_id, event_type, event_timestamp, old_status, new_status, details, component, try_number, dag_run_id, task_id
)
SELECT q.request_id, 'STATUS_CHANGE', :now, NULL, 'PENDING', JSON_IN(:details), 'INTAKE', :try_number, :dag_run_id, :task_id
FROM request_intake_queue AS q
WHERE q.enqueued_at = :now
