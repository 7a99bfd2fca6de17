-- Snowflake does not enforce primary keys, and concurrent INSERTs do not lock the table; MERGE
-- does, so two requests claiming one name at once end with exactly one holder.
MERGE INTO delivery_claims AS c
USING (SELECT :claim_key AS claim_key) AS s
ON c.claim_key = s.claim_key
WHEN NOT MATCHED THEN INSERT (
    claim_key, location, request_id, target_key, format, claimed_at, lease_until, delivered_at, sha256, generation
)
VALUES (
    :claim_key, :location, :request_id, :target_key, :format, :claimed_at, :lease_until, :delivered_at, :sha256, 0
)
