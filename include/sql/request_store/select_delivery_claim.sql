-- Who holds one delivery location (its claim_key is the SHA-256 of the location).
SELECT claim_key, location, request_id, target_key, format, claimed_at, lease_until, delivered_at, sha256, generation
FROM delivery_claims
WHERE claim_key = :claim_key
