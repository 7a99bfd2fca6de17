-- The intake's change feed: every row inserted into the worktable, once.
-- Its offset advances only when a DML statement that reads it commits (consume_stream.sql),
-- so a crash before that commit loses nothing.
CREATE STREAM IF NOT EXISTS report_requests_stream ON TABLE report_requests APPEND_ONLY = TRUE
