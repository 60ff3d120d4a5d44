-- The initial schema of allot on SQLite.
--
-- Every primary key begins with tenant_id. Times are INTEGER microseconds
-- since the Unix epoch, UTC. Empty user, group and SKU ids of audit entries
-- are stored as NULL so that the partial indexes below hold only the entries
-- that concern a user, group or SKU.

CREATE TABLE tenants (
    tenant_id              TEXT    NOT NULL PRIMARY KEY,
    company_name           TEXT    NOT NULL,
    domain                 TEXT    NOT NULL,
    default_usage_location TEXT    NOT NULL,
    settings               BLOB,
    created_at             INTEGER NOT NULL
);

-- A tenant's state: typed JSON objects. WITHOUT ROWID clusters the rows by
-- key, so loading a tenant is one ordered range scan and an upsert touches
-- one b-tree.
CREATE TABLE objects (
    tenant_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    id        TEXT NOT NULL,
    body      BLOB NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
) WITHOUT ROWID;

-- The append-only audit log. A rowid table because detail can be large.
CREATE TABLE audit (
    tenant_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    user_id   TEXT,
    group_id  TEXT,
    sku_id    TEXT,
    why       TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_user  ON audit (tenant_id, user_id, seq)  WHERE user_id IS NOT NULL;
CREATE INDEX audit_group ON audit (tenant_id, group_id, seq) WHERE group_id IS NOT NULL;
CREATE INDEX audit_sku   ON audit (tenant_id, sku_id, seq)   WHERE sku_id IS NOT NULL;
CREATE INDEX audit_at    ON audit (tenant_id, at);

-- API credentials. Only the hash of the secret is stored; it is unique
-- across tenants because a presented secret is looked up by hash alone.
CREATE TABLE tokens (
    tenant_id     TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    roles         TEXT    NOT NULL, -- JSON array of strings
    allotment_ids TEXT    NOT NULL, -- JSON array of strings
    hash          TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tokens_created ON tokens (tenant_id, created_at, id);
