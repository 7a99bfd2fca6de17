-- Hand a location to another request, only while the claim is exactly the one the caller read
-- (same holder, same generation): of two requests taking it over at once, one wins.
UPDATE delivery_claims
SET request_id = :request_id,
    target_key = :target_key,
    format = :format,
    claimed_at = :claimed_at,
    lease_until = :lease_until,
    delivered_at = NULL,
    sha256 = NULL,
    generation = generation + 1
WHERE claim_key = :claim_key AND request_id = :holder AND generation = :generation
