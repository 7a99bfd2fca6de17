SELECT log_id, request_id, event_type, event_timestamp, old_status, new_status, details, component,
       try_number, dag_run_id, task_id
FROM audit_log
WHERE request_id = :request_id
ORDER BY log_id
