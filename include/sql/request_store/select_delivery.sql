SELECT request_id, target_key, format, remote_location, bytes, sha256, delivered_at
FROM delivery_log
WHERE request_id = :request_id AND target_key = :target_key AND format = :format
