package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"

	"allot/audit"
	"allot/store"
	"allot/store/statelog"
)

// Commit applies every change in one transaction and returns once the
// transaction is fsynced to the WAL: each change with mutations becomes one
// record of its tenant's log (numbered after the last), with its audit
// entries in the record's row when they are above the tenant's audit top
// (auditlog.go); the other audit entries of each tenant become one row of
// audit_rows (auditrow.go; several past auditRowMax entries). On error
// nothing of any change is applied. An audit
// entry whose Seq the tenant already has (in the store or earlier in
// changes) fails the commit with an error that wraps store.ErrConflict. A
// Change without a TenantID, a Mutation without a Kind or an ID, and an
// audit entry whose TenantID is set and differs from its Change's are
// refused before anything is written.
func (s *Store) Commit(ctx context.Context, changes []store.Change) error {
	n, err := store.Validate(changes)
	if err != nil {
		return fmt.Errorf("store/sqlite: commit: %w", err)
	}
	if n == 0 {
		return nil
	}
	records := make([][]byte, len(changes))
	for i, c := range changes {
		if len(c.Mutations) > 0 {
			records[i] = statelog.EncodeRecord(c.Mutations)
		}
	}
	staged := map[string]tail{}
	seqs := make([]int64, len(changes))
	rest := make([]store.Change, 0, len(changes)) // the audit entries not folded into a record
	var folded []string
	err = s.writeThen(ctx, func(tx *wtx) error {
		clear(staged) // a retried write starts again
		rest, folded = rest[:0], folded[:0]
		for i, c := range changes {
			if records[i] == nil {
				rest = append(rest, c)
				continue
			}
			t, err := s.tailOf(ctx, tx, staged, c.TenantID)
			if err != nil {
				return fmt.Errorf("store/sqlite: commit: %w", err)
			}
			t.head.Last++
			t.head.LogBytes += int64(len(records[i]))
			var auditData, auditLast any // NULL: no entries in the record
			if foldable(c.Audit, t.auditTop) {
				t.auditTop, t.pendingAudit = c.Audit[len(c.Audit)-1].Seq, true
				auditData, auditLast = encodeAuditRow(c.Audit), t.auditTop
				folded = append(folded, c.TenantID)
			} else {
				rest = append(rest, c)
			}
			if _, err := tx.StmtContext(ctx, s.stmt.insertChange).ExecContext(ctx, c.TenantID, t.head.Last, records[i], auditData, auditLast); err != nil {
				return fmt.Errorf("store/sqlite: commit: record of tenant %q: %w", c.TenantID, err)
			}
			staged[c.TenantID] = t
			seqs[i] = t.head.Last
		}
		return s.insertAudit(ctx, tx, rest, staged)
	}, func() {
		maps.Copy(s.tails, staged)
		for _, id := range folded {
			s.pendingAudit[id] = struct{}{}
		}
	})
	if err != nil {
		return err
	}
	for i, seq := range seqs {
		changes[i].Seq = seq
	}
	for id, t := range staged {
		s.compactor.Consider(id, t.head.Last-t.head.Snap, t.head.LogBytes)
	}
	return nil
}

// insertAuditRowSQL writes one row of audit_rows (auditrow.go).
const insertAuditRowSQL = `INSERT INTO audit_rows (tenant_id, first_seq, last_seq, data) VALUES (?, ?, ?, ?)`

// insertAudit writes the audit entries of changes: per tenant, its entries
// in seq order as rows of up to auditRowMax entries. Entries that fall
// within the seq range of a stored row of the tenant (never the runtime's
// case: it numbers entries upwards) are merged with it, so that the
// tenant's rows keep disjoint ranges: the stored row is deleted and written
// again under a new id.
func (s *Store) insertAudit(ctx context.Context, tx *wtx, changes []store.Change, staged map[string]tail) error {
	var order []string
	byTenant := map[string][]audit.Entry{}
	for _, c := range changes {
		if len(c.Audit) == 0 {
			continue
		}
		if _, ok := byTenant[c.TenantID]; !ok {
			order = append(order, c.TenantID)
		}
		byTenant[c.TenantID] = append(byTenant[c.TenantID], c.Audit...)
	}
	for _, tenantID := range order {
		if err := s.insertTenantAudit(ctx, tx, tenantID, byTenant[tenantID], staged); err != nil {
			return err
		}
	}
	return nil
}

// insertTenantAudit writes the tenant's entries es (the caller's own
// slice). The tenant's pending entries (auditlog.go) are moved into
// audit_rows first: moved later, they could make a row whose range spans
// es's. Stored rows are looked at only when es starts at or below the
// tenant's audit top (tails.go): above it, no stored row can overlap.
func (s *Store) insertTenantAudit(ctx context.Context, tx *wtx, tenantID string, es []audit.Entry, staged map[string]tail) error {
	slices.SortStableFunc(es, func(a, b audit.Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	conflict := func(seq int64) error {
		return fmt.Errorf("store/sqlite: commit: audit seq %d of tenant %q: %w", seq, tenantID, store.ErrConflict)
	}
	for i := 1; i < len(es); i++ {
		if es[i].Seq == es[i-1].Seq {
			return conflict(es[i].Seq)
		}
	}
	t, err := s.tailOf(ctx, tx, staged, tenantID)
	if err != nil {
		return fmt.Errorf("store/sqlite: commit: audit of tenant %q: %w", tenantID, err)
	}
	if t.pendingAudit {
		if _, err := s.moveAudit(ctx, tx, tenantID); err != nil {
			return err
		}
		t.pendingAudit = false
	}
	first, last, top := es[0].Seq, es[len(es)-1].Seq, t.auditTop
	t.auditTop = max(top, last)
	staged[tenantID] = t
	if first <= top {
		stale, err := s.overlappingAudit(ctx, tx, tenantID, first, last, &es)
		if err != nil {
			return err
		}
		if len(stale) > 0 {
			return mergeAuditRows(ctx, tx, tenantID, es, stale, conflict)
		}
	}
	ins := tx.StmtContext(ctx, s.stmt.insertAudit)
	for len(es) > 0 {
		n := min(len(es), auditRowMax)
		if _, err := ins.ExecContext(ctx, tenantID, es[0].Seq, es[n-1].Seq, encodeAuditRow(es[:n])); err != nil {
			return fmt.Errorf("store/sqlite: commit: audit of tenant %q: %w", tenantID, err)
		}
		es = es[n:]
	}
	return nil
}

// overlappingAudit returns the ids of the tenant's stored rows that
// overlap the seqs first..last and appends their entries to es.
func (s *Store) overlappingAudit(ctx context.Context, tx *wtx, tenantID string, first, last int64, es *[]audit.Entry) ([]int64, error) {
	rows, err := tx.StmtContext(ctx, s.stmt.overlapAudit).QueryContext(ctx, tenantID, first, last)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: commit: audit of tenant %q: %w", tenantID, err)
	}
	defer rows.Close()
	var stale []int64
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("store/sqlite: commit: audit of tenant %q: %w", tenantID, err)
		}
		old, err := decodeAuditRow(tenantID, data)
		if err != nil {
			return nil, fmt.Errorf("store/sqlite: commit: audit row %d: %w", id, err)
		}
		stale = append(stale, id)
		*es = append(*es, old...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store/sqlite: commit: audit of tenant %q: %w", tenantID, err)
	}
	return stale, nil
}

// mergeAuditRows replaces the tenant's rows stale by rows of es (the new
// entries and stale's). The new rows get ids above every id given so far,
// never a deleted row's (the highest may be among stale): the audit index
// file takes rows by id and would take a reused id for indexed.
func mergeAuditRows(ctx context.Context, tx *wtx, tenantID string, es []audit.Entry, stale []int64, conflict func(int64) error) error {
	slices.SortStableFunc(es, func(a, b audit.Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	for i := 1; i < len(es); i++ {
		if es[i].Seq == es[i-1].Seq {
			return conflict(es[i].Seq)
		}
	}
	var top int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM audit_rows`).Scan(&top); err != nil {
		return fmt.Errorf("store/sqlite: commit: audit of tenant %q: %w", tenantID, err)
	}
	for _, id := range stale {
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit_rows WHERE id = ?`, id); err != nil {
			return fmt.Errorf("store/sqlite: commit: audit of tenant %q: %w", tenantID, err)
		}
	}
	for len(es) > 0 {
		n := min(len(es), auditRowMax)
		top++
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_rows (id, tenant_id, first_seq, last_seq, data) VALUES (?, ?, ?, ?, ?)`,
			top, tenantID, es[0].Seq, es[n-1].Seq, encodeAuditRow(es[:n]))
		if err != nil {
			return fmt.Errorf("store/sqlite: commit: audit of tenant %q: %w", tenantID, err)
		}
		es = es[n:]
	}
	return nil
}

// CommitBulk applies c and the streamed objects, which must come in strictly
// increasing key order, by writing the tenant's whole state as a new
// snapshot in one transaction fsynced to the WAL before it returns: the
// current objects (few, for the new tenant an import fills) merged with the
// stream. A streamed key that exists fails the commit with an error
// wrapping store.ErrConflict.
func (s *Store) CommitBulk(ctx context.Context, c store.Change, next func() ([]store.Object, error)) error {
	if _, err := store.Validate([]store.Change{c}); err != nil {
		return fmt.Errorf("store/sqlite: commit: %w", err)
	}
	var streamErr error
	err := s.writeThen(ctx, func(tx *wtx) error {
		h, err := (stateTx{tx}).Head(ctx, c.TenantID)
		if err != nil {
			return fmt.Errorf("store/sqlite: commit: %w", err)
		}
		cur, err := statelog.Current(ctx, stateTx{tx}, c.TenantID, h, c.Mutations)
		if err != nil {
			return fmt.Errorf("store/sqlite: commit: %w", err)
		}
		seq := h.Last + 1
		w := &snapshotWriter{ctx: ctx, tx: tx, stmt: tx.StmtContext(ctx, s.stmt.insertPart), tenantID: c.TenantID, seq: seq}
		parts := statelog.NewConcurrentParts(w.put, runtime.GOMAXPROCS(0))
		if err := statelog.MergeStream(cur, next, parts); err != nil {
			if errors.Is(err, statelog.ErrStream) {
				streamErr = errors.Unwrap(err)
				return streamErr
			}
			if errors.Is(err, statelog.ErrExists) {
				return fmt.Errorf("store/sqlite: commit: an object of tenant %q exists: %w", c.TenantID, store.ErrConflict)
			}
			return fmt.Errorf("store/sqlite: commit: objects of tenant %q: %w", c.TenantID, err)
		}
		if err := parts.Flush(); err != nil {
			return fmt.Errorf("store/sqlite: commit: objects of tenant %q: %w", c.TenantID, err)
		}
		if err := s.installSnapshot(ctx, tx, c.TenantID, seq, h.Snap < 0); err != nil {
			return err
		}
		if err := writeSnapshotHead(ctx, tx, c.TenantID, seq); err != nil {
			return fmt.Errorf("store/sqlite: commit: %w", err)
		}
		return s.insertAudit(ctx, tx, []store.Change{c}, map[string]tail{})
	}, func() {
		s.forgetTails(c.TenantID)
		s.shrinkCache()
	})
	if streamErr != nil {
		return streamErr
	}
	return err
}

// snapshotWriter inserts the parts of one snapshot.
type snapshotWriter struct {
	ctx      context.Context
	tx       *wtx
	stmt     *sql.Stmt
	tenantID string
	seq      int64
	n        int64
}

func (w *snapshotWriter) put(p statelog.Part) error {
	_, err := w.stmt.ExecContext(w.ctx, w.tenantID, w.seq, w.n, string(p.FirstKind), p.FirstID, p.Data)
	w.n++
	return err
}

// installSnapshot removes what the snapshot at seq replaces: the records up
// to seq, other snapshots' parts and, for the tenant's first snapshot, its
// legacy objects rows.
func (s *Store) installSnapshot(ctx context.Context, tx *wtx, tenantID string, seq int64, first bool) error {
	// The records' pending audit entries go to audit_rows before the
	// records go (auditlog.go).
	if _, err := s.moveAudit(ctx, tx, tenantID); err != nil {
		return err
	}
	stmts := []string{
		`DELETE FROM state_changes WHERE tenant_id = ? AND seq <= ?`,
		`DELETE FROM state_snapshots WHERE tenant_id = ? AND seq <> ?`,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q, tenantID, seq); err != nil {
			return fmt.Errorf("store/sqlite: snapshot of tenant %q: %w", tenantID, err)
		}
	}
	if first {
		if _, err := tx.ExecContext(ctx, `DELETE FROM objects WHERE tenant_id = ?`, tenantID); err != nil {
			return fmt.Errorf("store/sqlite: snapshot of tenant %q: %w", tenantID, err)
		}
	}
	return nil
}
