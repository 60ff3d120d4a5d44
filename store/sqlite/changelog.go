package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"allot/store"
	"allot/store/statelog"
)

// The change log read back (store.ChangeLog). SQLite has one writer
// process, so nobody follows it from another process; the runtime uses the
// log numbers for read-your-writes answers (X-Allot-Seq) all the same.

var _ store.ChangeLog = (*Store)(nil)

// LoadObjectsAt is LoadObjects plus the log number of the state read, in
// the same read transaction.
func (s *Store) LoadObjectsAt(ctx context.Context, tenantID string, fn func(store.Object) error) (int64, error) {
	var (
		fnErr error
		seq   int64
	)
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		h, err := (stateTx{tx}).Head(ctx, tenantID)
		if err != nil {
			return err
		}
		seq = max(h.Last, 0)
		return statelog.Load(ctx, stateTx{tx}, tenantID, func(o store.Object) error {
			if err := fn(o); err != nil {
				fnErr = err
				return err
			}
			return nil
		})
	})
	if fnErr != nil {
		return 0, fnErr
	}
	if err != nil {
		return 0, fmt.Errorf("store/sqlite: load objects of %q: %w", tenantID, err)
	}
	return seq, nil
}

// Changes reads the tenant's records after after (statelog.Changes) in one
// read transaction.
func (s *Store) Changes(ctx context.Context, tenantID string, after int64, fn func(int64, []store.Mutation) error) (int64, error) {
	var (
		last  int64
		fnErr error
	)
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE tenant_id = ?`, tenantID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("tenant %q: %w", tenantID, store.ErrNotFound)
			}
			return err
		}
		var err error
		last, err = statelog.Changes(ctx, stateTx{tx}, tenantID, after, func(seq int64, muts []store.Mutation) error {
			if err := fn(seq, muts); err != nil {
				fnErr = err
				return err
			}
			return nil
		})
		return err
	})
	if fnErr != nil {
		return last, fnErr
	}
	if err != nil {
		return last, fmt.Errorf("store/sqlite: changes of %q: %w", tenantID, err)
	}
	return last, nil
}

// LogSeq returns the tenant's last record's number.
func (s *Store) LogSeq(ctx context.Context, tenantID string) (int64, error) {
	var seq int64
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		h, err := (stateTx{tx}).Head(ctx, tenantID)
		seq = max(h.Last, 0)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store/sqlite: log of %q: %w", tenantID, err)
	}
	return seq, nil
}
