package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"allot/store"
	"allot/store/statelog"
)

// The change log read back (store.ChangeLog). SQLite has one writer
// process, so nobody follows it from another process; the runtime uses the
// log numbers for read-your-writes answers (X-Allot-Seq) all the same.

var (
	_ store.ChangeLog   = (*Store)(nil)
	_ store.TunedLoader = (*Store)(nil)
)

// LoadObjectsAt is LoadObjects plus the log number of the state read, in
// the same read transaction (statelog.LoadAt).
func (s *Store) LoadObjectsAt(ctx context.Context, tenantID string, fn func(store.Object) error) (int64, error) {
	return statelog.LoadAt(ctx, s.stateRead(ctx), "store/sqlite", tenantID, fn)
}

// LoadObjectsTuned is LoadObjectsAt tuned by opts (store.TunedLoader).
func (s *Store) LoadObjectsTuned(ctx context.Context, tenantID string, opts store.LoadOptions, fn func(store.Object) error) (int64, error) {
	return statelog.LoadAt(ctx, s.stateRead(ctx), "store/sqlite", tenantID, fn, opts)
}

// Changes reads the tenant's records after after (statelog.Changes) in one
// read transaction (statelog.ChangesAt).
func (s *Store) Changes(ctx context.Context, tenantID string, after int64, fn func(int64, []store.Mutation) error) (int64, error) {
	return statelog.ChangesAt(ctx, s.stateRead(ctx), "store/sqlite", tenantID, after, fn)
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
