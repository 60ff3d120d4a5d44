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

// head is a tenant's row of state_heads. snap is the snapshot in use, -1
// for none (the legacy objects rows are the base): a tenant without a row
// has snap -1 and no records.
type head struct {
	snap, last, logBytes int64
}

func readHead(ctx context.Context, tx pgx.Tx, tenantID string) (head, error) {
	h := head{snap: -1}
	err := tx.QueryRow(ctx, `SELECT snapshot_seq, last_seq, log_bytes FROM state_heads WHERE tenant_id = $1`, tenantID).
		Scan(&h.snap, &h.last, &h.logBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return head{snap: -1}, nil
	}
	return h, err
}

func writeHead(ctx context.Context, tx pgx.Tx, tenantID string, h head) error {
	_, err := tx.Exec(ctx, `INSERT INTO state_heads (tenant_id, snapshot_seq, last_seq, log_bytes) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id) DO UPDATE SET snapshot_seq = excluded.snapshot_seq, last_seq = excluded.last_seq, log_bytes = excluded.log_bytes`,
		tenantID, h.snap, h.last, h.logBytes)
	return err
}

// foldLog folds the tenant's records after the head's snapshot.
func foldLog(ctx context.Context, tx pgx.Tx, tenantID string, h head) (*statelog.Log, error) {
	l := &statelog.Log{}
	rows, err := tx.Query(ctx, `SELECT seq, data FROM state_changes WHERE tenant_id = $1 AND seq > $2 ORDER BY seq`, tenantID, h.snap)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			return nil, err
		}
		if err := l.Fold(data); err != nil {
			return nil, fmt.Errorf("record %d: %w", seq, err)
		}
	}
	return l, rows.Err()
}

// base streams the tenant's base objects in key order: the head's snapshot,
// or the legacy objects rows.
func base(ctx context.Context, tx pgx.Tx, tenantID string, h head) func(func(store.Object) error) error {
	if h.snap >= 0 {
		return func(fn func(store.Object) error) error {
			rows, err := tx.Query(ctx, `SELECT data FROM state_snapshots WHERE tenant_id = $1 AND seq = $2 ORDER BY part`, tenantID, h.snap)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var data []byte
				if err := rows.Scan(&data); err != nil {
					return err
				}
				if err := statelog.DecodePart(data, fn); err != nil {
					return err
				}
			}
			return rows.Err()
		}
	}
	return func(fn func(store.Object) error) error {
		rows, err := tx.Query(ctx, `SELECT kind, id, body FROM objects WHERE tenant_id = $1 ORDER BY kind, id`, tenantID)
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
}

// readTx runs fn in one read-only REPEATABLE READ transaction: everything
// it reads is one consistent state of the database.
func (s *Store) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.leave()
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
	var fnErr error
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		h, err := readHead(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		l, err := foldLog(ctx, tx, tenantID, h)
		if err != nil {
			return err
		}
		return statelog.Merge(base(ctx, tx, tenantID, h), l, func(o store.Object) error {
			if err := fn(o); err != nil {
				fnErr = err
				return err
			}
			return nil
		})
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store/postgres: load objects of %q: %w", tenantID, err)
	}
	return nil
}

// GetObject returns one object or store.ErrNotFound: the last record after
// the snapshot that touches it, else the one snapshot part that can hold it
// (or the legacy row).
func (s *Store) GetObject(ctx context.Context, tenantID string, kind store.Kind, id string) (store.Object, error) {
	o := store.Object{Kind: kind, ID: id}
	found := false
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		h, err := readHead(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		l, err := foldLog(ctx, tx, tenantID, h)
		if err != nil {
			return err
		}
		if m, ok := l.Get(kind, id); ok {
			o.Body, found = m.Body, !m.Delete
			return nil
		}
		if h.snap < 0 {
			err := tx.QueryRow(ctx, `SELECT body FROM objects WHERE tenant_id = $1 AND kind = $2 AND id = $3`,
				tenantID, string(kind), id).Scan(&o.Body)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			found = err == nil
			return err
		}
		var data []byte
		err = tx.QueryRow(ctx, `SELECT data FROM state_snapshots WHERE tenant_id = $1 AND seq = $2
			AND (first_kind, first_id) <= ($3, $4) ORDER BY first_kind DESC, first_id DESC LIMIT 1`,
			tenantID, h.snap, string(kind), id).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return statelog.DecodePart(data, func(p store.Object) error {
			if p.Kind == kind && p.ID == id {
				o.Body, found = p.Body, true
			}
			return nil
		})
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
