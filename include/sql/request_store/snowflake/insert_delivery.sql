-- Snowflake does not enforce primary keys: one row per (request, target, format) by a NOT EXISTS guard.
INSERT INTO delivery_log (request_id, target_key, format, remote_location, bytes, sha256, delivered_at)
SELECT :request_id, :target_key, :format, :remote_location, :bytes, :sha256, :delivered_at
WHERE NOT EXISTS (
    SELECT 1 FROM delivery_log WHERE request_id = :request_id AND target_key = :target_key AND format = :format
)
