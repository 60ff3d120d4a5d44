-- Alerts (package alert): each rule's alert per subject, the durable queue
-- of notifications to deliver (at least once, across restarts) and each
-- endpoint's delivery log. Times are microseconds since the Unix epoch.
CREATE TABLE alert_states (
    tenant_id   text COLLATE "C" NOT NULL,
    rule_id     text COLLATE "C" NOT NULL,
    subject     text COLLATE "C" NOT NULL,
    open        boolean NOT NULL,
    opened_at   bigint NOT NULL,
    clear_since bigint NOT NULL,
    resolved_at bigint NOT NULL,
    notified_at bigint NOT NULL,
    notices     bigint NOT NULL,
    summary     text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, rule_id, subject)
);

CREATE TABLE alert_jobs (
    tenant_id   text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    endpoint_id text COLLATE "C" NOT NULL,
    payload     bytea NOT NULL,
    state       text COLLATE "C" NOT NULL,
    attempts    bigint NOT NULL,
    run_at      bigint NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    last_error  text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX alert_jobs_due ON alert_jobs (state, run_at);

CREATE TABLE alert_attempts (
    tenant_id   text COLLATE "C" NOT NULL,
    endpoint_id text COLLATE "C" NOT NULL,
    seq         bigint NOT NULL,
    job_id      text COLLATE "C" NOT NULL,
    at          bigint NOT NULL,
    attempt     bigint NOT NULL,
    ok          boolean NOT NULL,
    status      bigint NOT NULL,
    error       text COLLATE "C" NOT NULL,
    millis      bigint NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id, seq)
);
