SELECT request_id, report_id, parameters, distribution_overrides, priority, trigger_type, requested_by,
       requested_at, status, attempt, dag_run_id, processed_at, completed_at, last_error, updated_at
FROM report_requests
WHERE request_id = :request_id
