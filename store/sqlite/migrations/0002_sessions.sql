-- Admin-center sessions (store.Session): by the SHA-256 of the session id,
-- with the hash of the token they signed in with. Never the id or token.
CREATE TABLE sessions (
    tenant_id  TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE,
    token_hash TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, hash)
);
CREATE INDEX sessions_expires ON sessions (expires_at);
