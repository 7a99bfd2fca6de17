-- Claim a delivery location unless another request already holds it: the primary key makes
-- two requests claiming one name at once end with exactly one holder.
-- SQLite and PostgreSQL; Snowflake has its own version in snowflake/.
INSERT INTO delivery_claims (
    claim_key, location, request_id, target_key, format, claimed_at, lease_until, delivered_at, sha256, generation
)
VALUES (
    :claim_key, :location, :request_id, :target_key, :format, :claimed_at, :lease_until, :delivered_at, :sha256, 0
)
ON CONFLICT (claim_key) DO NOTHING
