SELECT error_id, request_id, error_code, error_class, message, component, retry_count, retry_eligible, created_at
FROM error_log
WHERE request_id = :request_id
ORDER BY error_id
