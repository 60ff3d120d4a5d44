-- Admin-center sessions (store.Session): by the SHA-256 of the session id,
-- with the hash of the token they signed in with. Never the id or token.
-- (Under Citus, a reference table like tokens.)
CREATE TABLE sessions (
    tenant_id  text COLLATE "C" NOT NULL,
    hash       text COLLATE "C" NOT NULL UNIQUE,
    token_hash text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, hash)
);
CREATE INDEX sessions_expires ON sessions (expires_at);
