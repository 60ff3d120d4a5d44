-- The audit entries one commit writes for a tenant become one row
-- (auditrow.go has the encoding of data): a commit then writes one row and
-- one key per tenant instead of a row and a key per entry. The rows of the
-- audit table are converted by the Go part of this migration
-- (convertAuditRows in migrate.go), which then drops the audit table.
--
-- id: the order in which the audit index file takes rows in; never reused
-- (DeleteTenant keeps the highest id as an empty row of tenant ''). The
-- seq ranges [first_seq, last_seq] of one tenant's rows never overlap.
CREATE TABLE audit_rows (
    id        INTEGER PRIMARY KEY,
    tenant_id TEXT    NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    data      BLOB    NOT NULL
);
CREATE UNIQUE INDEX audit_rows_seq ON audit_rows (tenant_id, last_seq);
