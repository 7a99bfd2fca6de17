-- The holder's file is in place and recorded: its checksum now stands for the location.
UPDATE delivery_claims
SET delivered_at = :delivered_at, sha256 = :sha256, generation = generation + 1
WHERE claim_key = :claim_key AND request_id = :request_id
