-- A commit's audit entries of a tenant ride in the row of its log record
-- (audit: the entries as an audit row encodes them, auditrow.go; audit_last:
-- the last entry's seq) and are moved into audit_rows behind the commits
-- (auditlog.go). The two columns come before data: a record's data may
-- overflow into pages of its own, which reading a column after it would
-- walk. audit_moved is, per tenant, the log record up to which entries
-- have been moved: a record after it with audit set holds entries that are
-- in no audit row yet. The records stored so far hold no entries.
CREATE TABLE state_changes_v10 (
    tenant_id  TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    audit_last INTEGER,
    audit      BLOB,
    data       BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
INSERT INTO state_changes_v10 (tenant_id, seq, data) SELECT tenant_id, seq, data FROM state_changes;
DROP TABLE state_changes;
ALTER TABLE state_changes_v10 RENAME TO state_changes;
CREATE TABLE audit_moved (
    tenant_id TEXT    NOT NULL PRIMARY KEY,
    seq       INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO audit_moved (tenant_id, seq) SELECT tenant_id, max(seq) FROM state_changes GROUP BY tenant_id;
