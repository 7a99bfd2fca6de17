INSERT INTO error_log (
    request_id, error_code, error_class, message, component, retry_count, retry_eligible, created_at
)
SELECT :request_id, :error_code, :error_class, :message, :component, :retry_count, :retry_eligible, :created_at
