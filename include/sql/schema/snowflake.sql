-- Request store schema, Snowflake (production). Safe to apply again.
CREATE TABLE IF NOT EXISTS report_requests (
    request_id              VARCHAR(64)   NOT NULL PRIMARY KEY DEFAULT UUID_STRING(),
    report_id               VARCHAR(100)  NOT NULL,
    parameters              VARIANT,
    distribution_overrides  VARIANT,
    priority                INTEGER       NOT NULL DEFAULT 5,
    trigger_type            VARCHAR(16)   NOT NULL DEFAULT 'ADHOC',  -- ADHOC, SCHEDULED, MANUAL, API, RETRY, TEST
    requested_by            VARCHAR(200),
    requested_at            TIMESTAMP_TZ     NOT NULL DEFAULT CURRENT_TIMESTAMP(),
    status                  VARCHAR(16)   NOT NULL DEFAULT 'PENDING',
    attempt                 INTEGER       NOT NULL DEFAULT 0,
    dag_run_id              VARCHAR(250),
    processed_at            TIMESTAMP_TZ,
    completed_at            TIMESTAMP_TZ,
    last_error              VARCHAR(4000),
    updated_at              TIMESTAMP_TZ
);

CREATE TABLE IF NOT EXISTS audit_log (
    log_id           NUMBER(38,0) AUTOINCREMENT PRIMARY KEY,
    request_id       VARCHAR(64)   NOT NULL,
    event_type       VARCHAR(16)   NOT NULL,  -- STATUS_CHANGE, RETRY, DELIVERY, NOTIFICATION, ERROR
    event_timestamp  TIMESTAMP_TZ     NOT NULL,
    old_status       VARCHAR(16),
    new_status       VARCHAR(16),
    details          VARIANT,
    component        VARCHAR(16)   NOT NULL,  -- INTAKE, ORCHESTRATOR, ENGINE, DISTRIBUTOR, NOTIFIER
    try_number       INTEGER,
    dag_run_id       VARCHAR(250),
    task_id          VARCHAR(250)
);

CREATE TABLE IF NOT EXISTS error_log (
    error_id        NUMBER(38,0) AUTOINCREMENT PRIMARY KEY,
    request_id      VARCHAR(64)   NOT NULL,
    error_code      VARCHAR(64)   NOT NULL,
    error_class     VARCHAR(200)  NOT NULL,
    message         VARCHAR(4000),
    component       VARCHAR(16)   NOT NULL,
    retry_count     INTEGER       NOT NULL DEFAULT 0,
    retry_eligible  BOOLEAN       NOT NULL,
    created_at      TIMESTAMP_TZ     NOT NULL
);

CREATE TABLE IF NOT EXISTS delivery_log (
    request_id       VARCHAR(64)   NOT NULL,
    target_key       VARCHAR(100)  NOT NULL,
    format           VARCHAR(10)   NOT NULL,
    remote_location  VARCHAR(2000) NOT NULL,
    bytes            BIGINT        NOT NULL,
    sha256           CHAR(64)      NOT NULL,
    delivered_at     TIMESTAMP_TZ     NOT NULL,
    PRIMARY KEY (request_id, target_key, format)
);

-- Who holds each delivered file name, so no request overwrites another's file unannounced: one row
-- per location (claim_key is the SHA-256 of the location), claimed before the file is written.
-- In flight while delivered_at is NULL (until lease_until, the longest the writing task may run);
-- the delivery's record fills delivered_at and sha256. generation counts the row's changes, so a
-- take-over applies only to the claim its caller read.
CREATE TABLE IF NOT EXISTS delivery_claims (
    claim_key     CHAR(64)      NOT NULL PRIMARY KEY,
    location      VARCHAR(2000) NOT NULL,
    request_id    VARCHAR(64)   NOT NULL,
    target_key    VARCHAR(100)  NOT NULL,
    format        VARCHAR(10)   NOT NULL,
    claimed_at    TIMESTAMP_TZ  NOT NULL,
    lease_until   TIMESTAMP_TZ  NOT NULL,
    delivered_at  TIMESTAMP_TZ,
    sha256        CHAR(64),
    generation    INTEGER       NOT NULL DEFAULT 0
);

-- The intake's work queue: every worktable request the intake has taken in, and what it did with it.
-- Taking rows in and advancing the stream (Snowflake) happen in one transaction; dispatching
-- marks each row after its DAG run exists, so a crash in between replays into a no-op.
CREATE TABLE IF NOT EXISTS request_intake_queue (
    request_id     VARCHAR(64)   NOT NULL PRIMARY KEY,
    enqueued_at    TIMESTAMP_TZ     NOT NULL,
    dispatched_at  TIMESTAMP_TZ,
    outcome        VARCHAR(16),   -- TRIGGERED, INVALID, SKIPPED
    dag_run_id     VARCHAR(250)
);
