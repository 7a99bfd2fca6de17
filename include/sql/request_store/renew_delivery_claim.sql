-- A retry of the holder writes its location again: its lease starts over.
UPDATE delivery_claims
SET lease_until = :lease_until, generation = generation + 1
WHERE claim_key = :claim_key AND request_id = :request_id AND delivered_at IS NULL
