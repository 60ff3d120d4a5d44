package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"allot/store"
	"allot/store/statelog"
)

// A tenant's objects are a snapshot plus a log of change records (package
// store/statelog; tables state_heads, state_changes, state_snapshots). A
// tenant without a snapshot has the objects rows of earlier versions as its
// base; its first snapshot deletes them.

// stateTx reads the layout's tables in one transaction (statelog.Tx).
type stateTx struct{ tx pgx.Tx }

var _ statelog.Tx = stateTx{}

func (t stateTx) Exists(ctx context.Context, tenantID string) (bool, error) {
	var one int
	err := t.tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE tenant_id = $1`, tenantID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t stateTx) Head(ctx context.Context, tenantID string) (statelog.Head, error) {
	h := statelog.NoHead
	err := t.tx.QueryRow(ctx, `SELECT snapshot_seq, last_seq, log_bytes FROM state_heads WHERE tenant_id = $1`, tenantID).
		Scan(&h.Snap, &h.Last, &h.LogBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return statelog.NoHead, nil
	}
	return h, err
}

func (t stateTx) Records(ctx context.Context, tenantID string, after int64, fn func(int64, []byte) error) error {
	rows, err := t.tx.Query(ctx, `SELECT seq, data FROM state_changes WHERE tenant_id = $1 AND seq > $2 ORDER BY seq`, tenantID, after)
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
	rows, err := t.tx.Query(ctx, `SELECT data FROM state_snapshots WHERE tenant_id = $1 AND seq = $2 ORDER BY part`, tenantID, seq)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
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
	err := t.tx.QueryRow(ctx, `SELECT data FROM state_snapshots WHERE tenant_id = $1 AND seq = $2
		AND (first_kind, first_id) <= ($3, $4) ORDER BY first_kind DESC, first_id DESC LIMIT 1`,
		tenantID, seq, string(kind), id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return data, err == nil, err
}

func (t stateTx) Legacy(ctx context.Context, tenantID string, fn func(store.Object) error) error {
	rows, err := t.tx.Query(ctx, `SELECT kind, id, body FROM objects WHERE tenant_id = $1 ORDER BY kind, id`, tenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var kind string
	for rows.Next() {
		var o store.Object
		if err := rows.Scan(&kind, &o.ID, &o.Body); err != nil {
			return err
		}
		o.Kind = store.Kind(kind)
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t stateTx) LegacyObject(ctx context.Context, tenantID string, kind store.Kind, id string) ([]byte, bool, error) {
	var body []byte
	err := t.tx.QueryRow(ctx, `SELECT body FROM objects WHERE tenant_id = $1 AND kind = $2 AND id = $3`,
		tenantID, string(kind), id).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return body, err == nil, err
}

func writeHead(ctx context.Context, tx pgx.Tx, tenantID string, h statelog.Head) error {
	_, err := tx.Exec(ctx, `INSERT INTO state_heads (tenant_id, snapshot_seq, last_seq, log_bytes) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id) DO UPDATE SET snapshot_seq = excluded.snapshot_seq, last_seq = excluded.last_seq, log_bytes = excluded.log_bytes`,
		tenantID, h.Snap, h.Last, h.LogBytes)
	return err
}

// readTx runs fn in one read-only REPEATABLE READ transaction: everything
// it reads is one consistent state of the database.
func (s *Store) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// LoadObjects calls fn for every object of the tenant, ordered by kind then
// id (byte order): the snapshot (or legacy rows) with the later records
// applied, all read in one transaction, so commits made meanwhile are not
// seen. fn may keep the Body it is given. An error from fn stops the load
// and is returned as it is. The load holds one of the pool's connections
// until it ends, so a fn that calls the store needs a pool larger than the
// number of loads running at once (pool_max_conns in the URL).
func (s *Store) LoadObjects(ctx context.Context, tenantID string, fn func(store.Object) error) error {
	_, err := statelog.LoadAt(ctx, s.stateRead(ctx), "store/postgres", tenantID, fn)
	return err
}

// stateRead is the layout's view of readTx (statelog.Read).
func (s *Store) stateRead(ctx context.Context) statelog.Read {
	return func(fn func(statelog.Tx) error) error {
		return s.readTx(ctx, func(tx pgx.Tx) error { return fn(stateTx{tx}) })
	}
}

// GetObject returns one object or store.ErrNotFound (statelog.Get).
func (s *Store) GetObject(ctx context.Context, tenantID string, kind store.Kind, id string) (store.Object, error) {
	var (
		o     store.Object
		found bool
	)
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		o, found, err = statelog.Get(ctx, stateTx{tx}, tenantID, kind, id)
		return err
	})
	if err != nil {
		return store.Object{}, fmt.Errorf("store/postgres: get object %s %q of tenant %q: %w", kind, id, tenantID, err)
	}
	if !found {
		return store.Object{}, fmt.Errorf("store/postgres: object %s %q of tenant %q: %w", kind, id, tenantID, store.ErrNotFound)
	}
	if o.Body == nil {
		o.Body = []byte{}
	}
	return o, nil
}
