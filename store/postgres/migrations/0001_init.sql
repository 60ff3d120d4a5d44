-- The initial schema of allot on PostgreSQL.
--
-- Every primary key begins with tenant_id, so that Citus or YugabyteDB can
-- distribute every table by tenant unchanged. Identifiers use the "C"
-- collation: byte order, which is the order the store contract promises,
-- and cheaper to compare than a linguistic collation. Times are timestamptz
-- (microseconds). Empty user, group and SKU ids of audit entries are stored
-- as NULL so that the partial indexes below hold only the entries that
-- concern a user, group or SKU.

CREATE TABLE tenants (
    tenant_id              text COLLATE "C" NOT NULL PRIMARY KEY,
    company_name           text        NOT NULL,
    domain                 text        NOT NULL,
    default_usage_location text        NOT NULL,
    settings               bytea,
    created_at             timestamptz NOT NULL
);

-- A tenant's state: typed JSON objects, stored as the bytes the runtime
-- wrote (bytea: neither validated nor reformatted, as on SQLite). To inspect
-- them: convert_from(body, 'UTF8')::jsonb.
CREATE TABLE objects (
    tenant_id text COLLATE "C" NOT NULL,
    kind      text COLLATE "C" NOT NULL,
    id        text COLLATE "C" NOT NULL,
    body      bytea NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);

-- The append-only audit log.
CREATE TABLE audit (
    tenant_id text COLLATE "C" NOT NULL,
    seq       bigint      NOT NULL,
    at        timestamptz NOT NULL,
    actor     text        NOT NULL,
    action    text        NOT NULL,
    user_id   text COLLATE "C",
    group_id  text COLLATE "C",
    sku_id    text COLLATE "C",
    why       text        NOT NULL,
    detail    text        NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_user  ON audit (tenant_id, user_id, seq)  WHERE user_id IS NOT NULL;
CREATE INDEX audit_group ON audit (tenant_id, group_id, seq) WHERE group_id IS NOT NULL;
CREATE INDEX audit_sku   ON audit (tenant_id, sku_id, seq)   WHERE sku_id IS NOT NULL;
CREATE INDEX audit_at    ON audit (tenant_id, at);

-- API credentials. Only the hash of the secret is stored; it is unique
-- across tenants because a presented secret is looked up by hash alone.
-- (Under Citus, make tokens a reference table: a unique constraint on a
-- distributed table must include the distribution column.)
CREATE TABLE tokens (
    tenant_id     text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    display_name  text        NOT NULL,
    roles         text[]      NOT NULL,
    allotment_ids text[]      NOT NULL,
    hash          text COLLATE "C" NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tokens_created ON tokens (tenant_id, created_at, id);
