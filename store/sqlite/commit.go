package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"allot/store"
	"allot/store/statelog"
)

// Commit applies every change in one transaction and returns once the
// transaction is fsynced to the WAL: each change with mutations becomes one
// record of its tenant's log (numbered after the last), and its audit
// entries rows of audit. On error nothing of any change is applied. An audit
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
	heads := map[string]statelog.Head{}
	seqs := make([]int64, len(changes))
	err = s.write(ctx, func(tx *sql.Tx) error {
		clear(heads) // a retried write starts again
		for i, c := range changes {
			if records[i] != nil {
				h, ok := heads[c.TenantID]
				if !ok {
					var err error
					if h, err = s.head(ctx, tx, c.TenantID); err != nil {
						return fmt.Errorf("store/sqlite: commit: %w", err)
					}
				}
				h.Last++
				h.LogBytes += int64(len(records[i]))
				if _, err := tx.StmtContext(ctx, s.stmt.insertChange).ExecContext(ctx, c.TenantID, h.Last, records[i]); err != nil {
					return fmt.Errorf("store/sqlite: commit: record of tenant %q: %w", c.TenantID, err)
				}
				heads[c.TenantID] = h
				seqs[i] = h.Last
			}
			if err := s.insertAudit(ctx, tx, c); err != nil {
				return err
			}
		}
		for id, h := range heads {
			if _, err := tx.StmtContext(ctx, s.stmt.writeHead).ExecContext(ctx, id, h.Snap, h.Last, h.LogBytes); err != nil {
				return fmt.Errorf("store/sqlite: commit: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, seq := range seqs {
		changes[i].Seq = seq
	}
	for id, h := range heads {
		s.compactor.Consider(id, h.Last-h.Snap, h.LogBytes)
	}
	return nil
}

// head is stateTx.Head with the writer's prepared statement (a commit's
// hot path: parsing the SQL was 4 % of a single writer's CPU).
func (s *Store) head(ctx context.Context, tx *sql.Tx, tenantID string) (statelog.Head, error) {
	h := statelog.NoHead
	err := tx.StmtContext(ctx, s.stmt.readHead).QueryRowContext(ctx, tenantID).Scan(&h.Snap, &h.Last, &h.LogBytes)
	if errors.Is(err, sql.ErrNoRows) {
		return statelog.NoHead, nil
	}
	return h, err
}

// insertAudit writes one change's audit entries.
func (s *Store) insertAudit(ctx context.Context, tx *sql.Tx, c store.Change) error {
	var ins *sql.Stmt
	for _, e := range c.Audit {
		if ins == nil {
			ins = tx.StmtContext(ctx, s.stmt.insertAudit)
		}
		_, err := ins.ExecContext(ctx, c.TenantID, e.Seq, micros(e.At), e.Actor, e.Action,
			nullString(e.UserID), nullString(e.GroupID), nullString(e.SKUID), e.Why, e.Detail)
		if isConstraint(err) {
			return fmt.Errorf("store/sqlite: commit: audit seq %d of tenant %q: %w", e.Seq, c.TenantID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store/sqlite: commit: audit seq %d of tenant %q: %w", e.Seq, c.TenantID, err)
		}
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
	err := s.write(ctx, func(tx *sql.Tx) error {
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
		parts := statelog.NewParts(w.put)
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
		if err := writeHead(ctx, tx, c.TenantID, statelog.Head{Snap: seq, Last: seq}); err != nil {
			return fmt.Errorf("store/sqlite: commit: %w", err)
		}
		return s.insertAudit(ctx, tx, c)
	})
	if streamErr != nil {
		return streamErr
	}
	return err
}

// snapshotWriter inserts the parts of one snapshot.
type snapshotWriter struct {
	ctx      context.Context
	tx       *sql.Tx
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
func (s *Store) installSnapshot(ctx context.Context, tx *sql.Tx, tenantID string, seq int64, first bool) error {
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
