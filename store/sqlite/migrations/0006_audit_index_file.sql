-- The audit log's user, group, SKU and time indexes move out of this file
-- into a file of their own beside it (auditindex.go): a commit then writes
-- the audit rows and their (tenant_id, seq) key, and no page of an index
-- whose place is random (three quarters of a commit's writes before). The
-- table gets a never-reused id, the order in which the index file takes
-- rows in.
CREATE TABLE audit_v6 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
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
    UNIQUE (tenant_id, seq)
);
INSERT INTO audit_v6 (tenant_id, seq, at, actor, action, user_id, group_id, sku_id, why, detail)
    SELECT tenant_id, seq, at, actor, action, user_id, group_id, sku_id, why, detail FROM audit ORDER BY rowid;
DROP TABLE audit;
ALTER TABLE audit_v6 RENAME TO audit;

-- This database's identity: the index file records whose rows it holds,
-- so that a file beside another database (a restored backup, a copy) is
-- rebuilt rather than trusted.
CREATE TABLE audit_index_owner (id TEXT NOT NULL);
INSERT INTO audit_index_owner (id) VALUES (lower(hex(randomblob(16))));
