-- One row per (request, target, format): the record that makes re-delivery idempotent.
-- SQLite and PostgreSQL; Snowflake has its own version in snowflake/.
INSERT INTO delivery_log (request_id, target_key, format, remote_location, bytes, sha256, delivered_at)
VALUES (:request_id, :target_key, :format, :remote_location, :bytes, :sha256, :delivered_at)
ON CONFLICT (request_id, target_key, format) DO NOTHING
