-- Snowflake does not enforce primary keys, so "create unless it exists" is a NOT EXISTS guard.
INSERT INTO report_requests (
    request_id, report_id, parameters, distribution_overrides, priority, trigger_type,
    requested_by, requested_at, status, attempt, updated_at
)
SELECT :request_id, :report_id, JSON_IN(:parameters), JSON_IN(:distribution_overrides), :priority, :trigger_type,
       :requested_by, :requested_at, :status, 0, :updated_at
WHERE NOT EXISTS (SELECT 1 FROM report_requests WHERE request_id = :request_id)
