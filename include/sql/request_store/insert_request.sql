-- Create a request unless it exists (a replayed claim or intake never makes a second row).
-- SQLite and PostgreSQL; Snowflake has its own version in snowflake/.
INSERT INTO report_requests (
    request_id, report_id, parameters, distribution_overrides, priority, trigger_type,
    requested_by, requested_at, status, attempt, updated_at
)
VALUES (
    :request_id, :report_id, JSON_IN(:parameters), JSON_IN(:distribution_overrides), :priority, :trigger_type,
    :requested_by, :requested_at, :status, 0, :updated_at
)
ON CONFLICT (request_id) DO NOTHING
