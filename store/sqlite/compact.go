package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"allot/store"
	"allot/store/statelog"
)

// snapshotBatch is how many parts one write transaction of a compaction
// inserts: commits wait at most for that many between two of them.
const snapshotBatch = 8

// Compact folds the tenant's log into a new snapshot: the objects as of the
// last record, written as parts in small transactions (commits go on in
// between), then installed in one transaction that deletes the records it
// covers and the older snapshot (and, the first time, the legacy objects
// rows). A tenant with no record after its snapshot is left as it is. If
// the tenant changed meanwhile in a way that makes the new snapshot wrong
// (a bulk commit replaced its state, it was deleted), the snapshot is
// dropped. Compact is safe to call at any time.
func (s *Store) Compact(ctx context.Context, tenantID string) error {
	return s.compact(ctx, tenantID, false)
}

// compactLong is the background compactor's Compact: it leaves alone a
// tenant whose log is short again (statelog.CompactRecords and
// CompactBytes) unless the tenant has no snapshot. Every commit of a long
// log asks for a compaction, also those made while one runs: without this
// the compaction ran a second time at once, rewriting the whole snapshot
// for the few records committed meanwhile.
func (s *Store) compactLong(ctx context.Context, tenantID string) error {
	return s.compact(ctx, tenantID, true)
}

func (s *Store) compact(ctx context.Context, tenantID string, onlyLong bool) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	// One compaction at a time (the background one and a caller's would
	// write the same parts).
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	var (
		h       statelog.Head
		created int64
		parts   []statelog.Part
		written int64
	)
	// dropLeftovers deletes parts at the new snapshot's number that an
	// interrupted compaction left (the number is not the head's snapshot).
	dropLeftovers := func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM state_snapshots WHERE tenant_id = ? AND seq = ?`, tenantID, h.Last)
		return err
	}
	flush := func() error {
		if len(parts) == 0 {
			return nil
		}
		err := s.write(ctx, func(tx *wtx) error {
			if written == 0 {
				if err := dropLeftovers(tx); err != nil {
					return err
				}
			}
			st := tx.StmtContext(ctx, s.stmt.insertPart)
			for _, p := range parts {
				if _, err := st.ExecContext(ctx, tenantID, h.Last, written, string(p.FirstKind), p.FirstID, p.Data); err != nil {
					return err
				}
				written++
			}
			return nil
		})
		parts = parts[:0]
		return err
	}
	skip := false
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if h, err = (stateTx{tx}).Head(ctx, tenantID); err != nil {
			return err
		}
		if !statelog.WorthCompacting(h, onlyLong) {
			skip = true
			return nil
		}
		if err := tx.QueryRowContext(ctx, `SELECT created_at FROM tenants WHERE tenant_id = ?`, tenantID).Scan(&created); err != nil {
			return err
		}
		l, err := statelog.Fold(ctx, stateTx{tx}, tenantID, h)
		if err != nil {
			return err
		}
		w := statelog.NewParts(func(p statelog.Part) error {
			parts = append(parts, p)
			if len(parts) >= snapshotBatch {
				return flush()
			}
			return nil
		})
		if err := statelog.Merge(statelog.Base(ctx, stateTx{tx}, tenantID, h), l, w.Add); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return flush()
	})
	if err != nil || skip {
		if err != nil {
			return fmt.Errorf("store/sqlite: compact tenant %q: %w", tenantID, err)
		}
		return nil
	}
	return s.writeThen(ctx, func(tx *wtx) error {
		cur, err := (stateTx{tx}).Head(ctx, tenantID)
		if err != nil {
			return err
		}
		var nowCreated int64
		err = tx.QueryRowContext(ctx, `SELECT created_at FROM tenants WHERE tenant_id = ?`, tenantID).Scan(&nowCreated)
		if err == sql.ErrNoRows || cur.Snap != h.Snap || cur.Last < h.Last || nowCreated != created {
			// Replaced or deleted meanwhile: drop what was written.
			_, err := tx.ExecContext(ctx, `DELETE FROM state_snapshots WHERE tenant_id = ? AND seq = ? AND seq <> ?`, tenantID, h.Last, cur.Snap)
			return err
		}
		if err != nil {
			return err
		}
		if written == 0 {
			if err := dropLeftovers(tx); err != nil { // an empty snapshot
				return err
			}
		}
		if err := s.installSnapshot(ctx, tx, tenantID, h.Last, h.Snap < 0); err != nil {
			return err
		}
		return writeSnapshotHead(ctx, tx, tenantID, h.Last)
	}, func() {
		s.forgetTails(tenantID)
		s.shrinkCache()
	})
}

var _ store.Compactor = (*Store)(nil)
