-- Cheap check the sensor polls: may say TRUE when the stream is empty, never FALSE when it is not.
-- It runs on cloud services and does not resume a warehouse.
SELECT SYSTEM$STREAM_HAS_DATA(:stream) AS has_data
