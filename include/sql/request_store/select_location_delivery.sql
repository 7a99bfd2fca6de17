-- The latest delivery recorded at a location: the owner of a name delivered before claims were kept.
SELECT request_id, target_key, format, remote_location, bytes, sha256, delivered_at
FROM delivery_log
WHERE remote_location = :location
ORDER BY delivered_at DESC
LIMIT 1
