package sqlite

import (
	"context"

	"allot/store/statelog"
)

// The end of each tenant's log and audit, as the writer knows it. A commit
// numbers its records after the tenant's last one, counts the bytes of the
// log after the snapshot (compaction's trigger) and must know whether its
// audit entries fall within a stored row (insertTenantAudit). Reading that
// from the database and writing a head row back cost a query and a WAL
// frame per commit; instead the head's last number and bytes are derived
// from state_changes (headSQL) once per tenant, and kept in memory by the
// writer from then on.
//
// This is exact because the store is the database's only writer (Open
// takes the owner lock, owner.go) and every write goes through write,
// under writeMu, which also guards tails: what the writer last committed is
// the database's state. A write that fails forgets everything known (the
// next commit of each tenant reads it again); a write that changes a
// tenant's log or audit other than Commit (a bulk commit, a compaction, a
// deletion) forgets that tenant.

// tail is what the writer knows of one tenant.
type tail struct {
	head statelog.Head
	// auditTop is the tenant's highest audit seq, in audit_rows or
	// pending in its log (auditlog.go; 0: none): audit entries above it
	// cannot fall within a stored row.
	auditTop int64
	// pendingAudit: the tenant may have pending audit entries in its log
	// (auditlog.go); an audit row is written for it only after they are
	// moved.
	pendingAudit bool
}

// headSQL derives a tenant's head (statelog.Head): the snapshot in use
// (-1 without a state_heads row), the last record's number (the snapshot's
// when no record follows it; 0 for a tenant without either) and the bytes
// of the records after the snapshot.
const headSQL = `SELECT s.snap, max(s.snap, coalesce(max(c.seq), 0)), coalesce(sum(length(c.data)), 0)
	FROM (SELECT coalesce((SELECT snapshot_seq FROM state_heads WHERE tenant_id = ?1), -1) AS snap) s
	LEFT JOIN state_changes c ON c.tenant_id = ?1 AND c.seq > s.snap`

// auditTopSQL is the tenant's highest audit seq: of its audit rows and of
// its pending records (auditlog.go; a record's entries, once moved, are
// in audit rows).
const auditTopSQL = `SELECT max((SELECT coalesce(max(last_seq), 0) FROM audit_rows WHERE tenant_id = ?1),
	(SELECT coalesce(max(c.audit_last), 0) FROM state_changes c WHERE ` + pendingWhere + `))`

// tailSQL is headSQL, the tenant's audit top and whether it has pending
// audit entries.
const tailSQL = `SELECT h.*, (` + auditTopSQL + `), EXISTS (` + pendingAuditSQL + `) FROM (` + headSQL + `) h`

// tailOf returns what the writer knows of the tenant: staged (this
// commit's, not committed yet), else known, else read in tx.
func (s *Store) tailOf(ctx context.Context, tx *wtx, staged map[string]tail, tenantID string) (tail, error) {
	if t, ok := staged[tenantID]; ok {
		return t, nil
	}
	if t, ok := s.tails[tenantID]; ok {
		return t, nil
	}
	var t tail
	err := tx.StmtContext(ctx, s.stmt.readTail).QueryRowContext(ctx, tenantID).
		Scan(&t.head.Snap, &t.head.Last, &t.head.LogBytes, &t.auditTop, &t.pendingAudit)
	return t, err
}

// forgetTails drops what the writer knows of the tenant ("" : of every tenant).
// Called under writeMu.
func (s *Store) forgetTails(tenantID string) {
	if tenantID == "" {
		clear(s.tails)
		return
	}
	delete(s.tails, tenantID)
}
