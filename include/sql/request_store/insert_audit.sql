INSERT INTO audit_log (
    request_id, event_type, event_timestamp, old_status, new_status, details, component, try_number, dag_run_id, task_id
)
SELECT :request_id, :event_type, :event_timestamp, :old_status, :new_status, JSON_IN(:details), :component,
       :try_number, :dag_run_id, :task_id
