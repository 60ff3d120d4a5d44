package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"allot/store"
	"allot/store/statelog"
)

// A tenant's objects are a snapshot plus a log of change records (package
// store/statelog; tables state_heads, state_changes, state_snapshots). A
// tenant without a snapshot has the objects rows of earlier versions as its
// base; its first snapshot deletes them.

// querier is what reading a tenant's state needs: a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stateTx reads the layout's tables in one transaction (statelog.Tx).
type stateTx struct{ q querier }

var _ statelog.Tx = stateTx{}

func (t stateTx) Exists(ctx context.Context, tenantID string) (bool, error) {
	var one int
	err := t.q.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE tenant_id = ?`, tenantID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Head derives the tenant's head from state_heads and state_changes
// (headSQL, tails.go).
func (t stateTx) Head(ctx context.Context, tenantID string) (statelog.Head, error) {
	var h statelog.Head
	err := t.q.QueryRowContext(ctx, headSQL, tenantID).Scan(&h.Snap, &h.Last, &h.LogBytes)
	return h, err
}

func (t stateTx) Records(ctx context.Context, tenantID string, after int64, fn func(int64, []byte) error) error {
	rows, err := t.q.QueryContext(ctx, `SELECT seq, data FROM state_changes WHERE tenant_id = ? AND seq > ? ORDER BY seq`, tenantID, after)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			return err
		}
		if err := fn(seq, data); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t stateTx) Parts(ctx context.Context, tenantID string, seq int64, fn func([]byte) error) error {
	rows, err := t.q.QueryContext(ctx, `SELECT data FROM state_snapshots WHERE tenant_id = ? AND seq = ? ORDER BY part`, tenantID, seq)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var data sql.RawBytes // the driver's copy, valid until Next: no second copy
		if err := rows.Scan(&data); err != nil {
			return err
		}
		if err := fn(data); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t stateTx) PartFor(ctx context.Context, tenantID string, seq int64, kind store.Kind, id string) ([]byte, bool, error) {
	var data []byte
	err := t.q.QueryRowContext(ctx, `SELECT data FROM state_snapshots WHERE tenant_id = ? AND seq = ?
		AND (first_kind < ? OR (first_kind = ? AND first_id <= ?)) ORDER BY first_kind DESC, first_id DESC LIMIT 1`,
		tenantID, seq, string(kind), string(kind), id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return data, err == nil, err
}

func (t stateTx) Legacy(ctx context.Context, tenantID string, fn func(store.Object) error) error {
	rows, err := t.q.QueryContext(ctx, `SELECT kind, id, body FROM objects WHERE tenant_id = ? ORDER BY kind, id`, tenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		kindRaw sql.RawBytes
		kind    store.Kind // a tenant has few kinds: reuse the string
	)
	for rows.Next() {
		var o store.Object
		if err := rows.Scan(&kindRaw, &o.ID, &o.Body); err != nil {
			return err
		}
		if string(kindRaw) != string(kind) {
			kind = store.Kind(kindRaw)
		}
		o.Kind = kind
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t stateTx) LegacyObject(ctx context.Context, tenantID string, kind store.Kind, id string) ([]byte, bool, error) {
	var body []byte
	err := t.q.QueryRowContext(ctx, `SELECT body FROM objects WHERE tenant_id = ? AND kind = ? AND id = ?`,
		tenantID, string(kind), id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return body, err == nil, err
}

// writeSnapshotHead installs snapshot seq as the tenant's (state_heads
// keeps nothing else: tails.go).
func writeSnapshotHead(ctx context.Context, tx *wtx, tenantID string, seq int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO state_heads (tenant_id, snapshot_seq) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET snapshot_seq = excluded.snapshot_seq`, tenantID, seq)
	return err
}

// readTx runs fn in one read transaction: everything it reads is one
// consistent state of the database.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	tx, err := s.readers.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// LoadObjects calls fn for every object of the tenant, ordered by kind then
// id (byte order): the snapshot (or legacy rows) with the later records
// applied, all read in one transaction, so commits made meanwhile are not
// seen. fn may keep the Body it is given. An error from fn stops the load
// and is returned as it is.
func (s *Store) LoadObjects(ctx context.Context, tenantID string, fn func(store.Object) error) error {
	_, err := statelog.LoadAt(ctx, s.stateRead(ctx), "store/sqlite", tenantID, fn)
	return err
}

// stateRead is the layout's view of readTx (statelog.Read).
func (s *Store) stateRead(ctx context.Context) statelog.Read {
	return func(fn func(statelog.Tx) error) error {
		return s.readTx(ctx, func(tx *sql.Tx) error { return fn(stateTx{tx}) })
	}
}

// GetObject returns one object or store.ErrNotFound (statelog.Get).
func (s *Store) GetObject(ctx context.Context, tenantID string, kind store.Kind, id string) (store.Object, error) {
	var (
		o     store.Object
		found bool
	)
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		o, found, err = statelog.Get(ctx, stateTx{tx}, tenantID, kind, id)
		return err
	})
	if err != nil {
		return store.Object{}, fmt.Errorf("store/sqlite: get object %s %q of tenant %q: %w", kind, id, tenantID, err)
	}
	if !found {
		return store.Object{}, fmt.Errorf("store/sqlite: object %s %q of tenant %q: %w", kind, id, tenantID, store.ErrNotFound)
	}
	return o, nil
}
