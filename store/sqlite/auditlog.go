package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"allot/audit"
)

// Audit entries ride in the log record. A commit of a change with
// mutations writes the change's audit entries into the row of its log
// record (state_changes.audit, encoded as an audit row is, and audit_last,
// the last entry's seq) instead of a row of audit_rows of their own: one
// b-tree leaf per commit instead of three (the log's, audit_rows' and its
// (tenant_id, last_seq) index's), which halved the bytes a durable
// membership change writes (docs/BENCHMARKS.md, session 21). Such entries
// are *pending*; behind the commits, the audit indexer's goroutine moves
// every tenant's pending entries into audit_rows (moveAllAudit), one row
// per tenant and round of up to auditRowMax entries, in one write
// transaction of its own.
//
// Contracts:
//   - A tenant's record seq is pending when seq > audit_moved.seq (0
//     without a row) and its audit is set. Moving inserts the entries of
//     the tenant's pending records into audit_rows and sets audit_moved.seq
//     to the last of them in the same transaction, so an entry is in
//     exactly one of the two places in every transaction's view; a reader
//     (queryAudit) reads both in one read transaction.
//   - An entry is folded into its record only when it is above the
//     tenant's audit top (the highest seq in audit_rows or pending,
//     tails.go) and the change's entries are strictly increasing. Every
//     other entry (a change without mutations, entries at or below the
//     top) is written to audit_rows only after the tenant's pending
//     entries are moved, in the same transaction. So pending entries,
//     taken in record order, are in seq order and above every audit row
//     of the tenant, and moving them keeps the tenant's rows disjoint; and
//     an entry at or below the top, merged with the stored rows it falls
//     in (commit.go), is merged with every entry the tenant has.
//   - A tenant's records are deleted only with its pending entries moved
//     first (installSnapshot: compaction and bulk commits) or with the
//     tenant (DeleteTenant deletes its audit_moved row too).
//   - What is pending survives a crash with the record (it is the
//     record's row); Open finds the tenants that have pending entries and
//     the first round moves them.

// pendingAuditSQL selects the tenant's pending records (seq, audit); the
// caller orders them.
const pendingAuditSQL = `SELECT c.seq, c.audit FROM state_changes c WHERE ` + pendingWhere

// pendingWhere selects the pending records c of tenant ?1.
const pendingWhere = `c.tenant_id = ?1 AND c.audit IS NOT NULL
	AND c.seq > coalesce((SELECT m.seq FROM audit_moved m WHERE m.tenant_id = ?1), 0)`

// pendingTenantsSQL selects the tenants with pending records.
const pendingTenantsSQL = `SELECT DISTINCT c.tenant_id FROM state_changes c
	WHERE c.audit IS NOT NULL
	AND c.seq > coalesce((SELECT m.seq FROM audit_moved m WHERE m.tenant_id = c.tenant_id), 0)`

// foldable reports whether es can ride in its change's log record: its
// entries strictly increasing and above top.
func foldable(es []audit.Entry, top int64) bool {
	if len(es) == 0 || es[0].Seq <= top {
		return false
	}
	for i := 1; i < len(es); i++ {
		if es[i].Seq <= es[i-1].Seq {
			return false
		}
	}
	return true
}

// moveAudit moves the tenant's pending entries into audit_rows in tx and
// reports whether there were any. Called under writeMu.
func (s *Store) moveAudit(ctx context.Context, tx *wtx, tenantID string) (bool, error) {
	rows, err := tx.QueryContext(ctx, pendingAuditSQL+` ORDER BY c.seq`, tenantID)
	if err != nil {
		return false, fmt.Errorf("store/sqlite: move audit of tenant %q: %w", tenantID, err)
	}
	var (
		es   []audit.Entry
		last int64
	)
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&last, &data); err != nil {
			rows.Close()
			return false, fmt.Errorf("store/sqlite: move audit of tenant %q: %w", tenantID, err)
		}
		r, err := decodeAuditRow(tenantID, data)
		if err != nil {
			rows.Close()
			return false, fmt.Errorf("store/sqlite: move audit of tenant %q: record %d: %w", tenantID, last, err)
		}
		es = append(es, r...)
	}
	if err := rows.Close(); err != nil {
		return false, fmt.Errorf("store/sqlite: move audit of tenant %q: %w", tenantID, err)
	}
	if last == 0 {
		return false, nil
	}
	for i := 1; i < len(es); i++ {
		if es[i].Seq <= es[i-1].Seq { // refused by the fold; a damaged file
			return false, fmt.Errorf("store/sqlite: move audit of tenant %q: pending seq %d after %d", tenantID, es[i].Seq, es[i-1].Seq)
		}
	}
	ins := tx.StmtContext(ctx, s.stmt.insertAudit)
	for len(es) > 0 {
		n := min(len(es), auditRowMax)
		if _, err := ins.ExecContext(ctx, tenantID, es[0].Seq, es[n-1].Seq, encodeAuditRow(es[:n])); err != nil {
			return false, fmt.Errorf("store/sqlite: move audit of tenant %q: %w", tenantID, err)
		}
		es = es[n:]
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_moved (tenant_id, seq) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq`, tenantID, last)
	if err != nil {
		return false, fmt.Errorf("store/sqlite: move audit of tenant %q: %w", tenantID, err)
	}
	return true, nil
}

// moveAllAudit moves the pending entries of every tenant that has some, in
// one write transaction (none when no tenant has).
func (s *Store) moveAllAudit(ctx context.Context) error {
	s.writeMu.Lock()
	n := len(s.pendingAudit)
	s.writeMu.Unlock()
	if n == 0 {
		return nil
	}
	var moved []string
	return s.writeThen(ctx, func(tx *wtx) error {
		moved = moved[:0]
		for id := range s.pendingAudit {
			if _, err := s.moveAudit(ctx, tx, id); err != nil {
				return err
			}
			moved = append(moved, id)
		}
		return nil
	}, func() {
		for _, id := range moved {
			delete(s.pendingAudit, id)
			if t, ok := s.tails[id]; ok {
				t.pendingAudit = false
				s.tails[id] = t
			}
		}
	})
}

// findPendingAudit returns the tenants with pending entries (at Open).
func findPendingAudit(ctx context.Context, c *sql.Conn) (map[string]struct{}, error) {
	rows, err := c.QueryContext(ctx, pendingTenantsSQL)
	if err != nil {
		return nil, fmt.Errorf("pending audit: %w", err)
	}
	defer rows.Close()
	pending := map[string]struct{}{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("pending audit: %w", err)
		}
		pending[id] = struct{}{}
	}
	return pending, rows.Err()
}
