-- A commit's audit entries of a tenant ride in the row of its log record
-- (audit: the entries as an audit row encodes them, auditrow.go; audit_last:
-- the last entry's seq) and are moved into audit_rows behind the commits
-- (auditlog.go). audit_moved is, per tenant, the log record up to which
-- they have been moved: a record after it with audit set holds entries that
-- are in no audit row yet.
ALTER TABLE state_changes ADD COLUMN audit BLOB;
ALTER TABLE state_changes ADD COLUMN audit_last INTEGER;
CREATE TABLE audit_moved (
    tenant_id TEXT    NOT NULL PRIMARY KEY,
    seq       INTEGER NOT NULL
) WITHOUT ROWID;
