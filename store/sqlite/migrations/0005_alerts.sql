-- Alerts (package alert): each rule's alert per subject, the durable queue
-- of notifications to deliver (at least once, across restarts) and each
-- endpoint's delivery log. Times are microseconds since the Unix epoch.
CREATE TABLE alert_states (
    tenant_id   TEXT    NOT NULL,
    rule_id     TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    open        INTEGER NOT NULL,
    opened_at   INTEGER NOT NULL,
    clear_since INTEGER NOT NULL,
    resolved_at INTEGER NOT NULL,
    notified_at INTEGER NOT NULL,
    notices     INTEGER NOT NULL,
    summary     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, rule_id, subject)
);

CREATE TABLE alert_jobs (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    endpoint_id TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    state       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    run_at      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX alert_jobs_due ON alert_jobs (state, run_at);

CREATE TABLE alert_attempts (
    tenant_id   TEXT    NOT NULL,
    endpoint_id TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    job_id      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    ok          INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    error       TEXT    NOT NULL,
    millis      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id, seq)
);
