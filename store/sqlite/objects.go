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

// head is a tenant's row of state_heads. snap is the snapshot in use, -1
// for none (the legacy objects rows are the base): a tenant without a row
// has snap -1 and no records.
type head struct {
	snap, last, logBytes int64
}

func readHead(ctx context.Context, q querier, tenantID string) (head, error) {
	h := head{snap: -1}
	err := q.QueryRowContext(ctx, `SELECT snapshot_seq, last_seq, log_bytes FROM state_heads WHERE tenant_id = ?`, tenantID).
		Scan(&h.snap, &h.last, &h.logBytes)
	if errors.Is(err, sql.ErrNoRows) {
		return head{snap: -1}, nil
	}
	return h, err
}

func writeHead(ctx context.Context, tx *sql.Tx, tenantID string, h head) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO state_heads (tenant_id, snapshot_seq, last_seq, log_bytes) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET snapshot_seq = excluded.snapshot_seq, last_seq = excluded.last_seq, log_bytes = excluded.log_bytes`,
		tenantID, h.snap, h.last, h.logBytes)
	return err
}

// foldLog folds the tenant's records after the head's snapshot.
func foldLog(ctx context.Context, q querier, tenantID string, h head) (*statelog.Log, error) {
	l := &statelog.Log{}
	rows, err := q.QueryContext(ctx, `SELECT seq, data FROM state_changes WHERE tenant_id = ? AND seq > ? ORDER BY seq`, tenantID, h.snap)
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
func base(ctx context.Context, q querier, tenantID string, h head) func(func(store.Object) error) error {
	if h.snap >= 0 {
		return func(fn func(store.Object) error) error {
			rows, err := q.QueryContext(ctx, `SELECT part, data FROM state_snapshots WHERE tenant_id = ? AND seq = ? ORDER BY part`, tenantID, h.snap)
			if err != nil {
				return err
			}
			defer rows.Close()
			return decodeParts(rows, fn)
		}
	}
	return func(fn func(store.Object) error) error {
		rows, err := q.QueryContext(ctx, `SELECT kind, id, body FROM objects WHERE tenant_id = ? ORDER BY kind, id`, tenantID)
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
}

// decodeParts decodes the parts rows return (part, data), in order. The
// next part is read and decompressed by a second goroutine while fn takes
// the objects of the current one.
func decodeParts(rows *sql.Rows, fn func(store.Object) error) error {
	type decoded struct {
		objs []store.Object
		err  error
	}
	datas := make(chan []byte, 2)
	out := make(chan decoded, 2)
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	defer func() {
		close(stop)
		<-readerDone // rows belong to the caller again
	}()
	go func() {
		defer close(out)
		for data := range datas {
			var d decoded
			d.err = statelog.DecodePart(data, func(o store.Object) error {
				d.objs = append(d.objs, o)
				return nil
			})
			select {
			case out <- d:
			case <-stop:
				return
			}
		}
	}()
	var readErr error
	go func() {
		defer close(readerDone)
		defer close(datas)
		for rows.Next() {
			var part int64
			var data []byte
			if readErr = rows.Scan(&part, &data); readErr != nil {
				return
			}
			select {
			case datas <- data:
			case <-stop:
				return
			}
		}
		readErr = rows.Err()
	}()
	for d := range out {
		if d.err != nil {
			return d.err
		}
		for _, o := range d.objs {
			if err := fn(o); err != nil {
				return err
			}
		}
	}
	<-readerDone
	return readErr
}

// readTx runs fn in one read transaction: everything it reads is one
// consistent state of the database.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.leave()
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
	var fnErr error
	err := s.readTx(ctx, func(tx *sql.Tx) error {
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
		return fmt.Errorf("store/sqlite: load objects of %q: %w", tenantID, err)
	}
	return nil
}

// GetObject returns one object or store.ErrNotFound: the last record after
// the snapshot that touches it, else the one snapshot part that can hold it
// (or the legacy row).
func (s *Store) GetObject(ctx context.Context, tenantID string, kind store.Kind, id string) (store.Object, error) {
	o := store.Object{Kind: kind, ID: id}
	found := false
	err := s.readTx(ctx, func(tx *sql.Tx) error {
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
			err := tx.QueryRowContext(ctx, `SELECT body FROM objects WHERE tenant_id = ? AND kind = ? AND id = ?`,
				tenantID, string(kind), id).Scan(&o.Body)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			found = err == nil
			return err
		}
		var data []byte
		err = tx.QueryRowContext(ctx, `SELECT data FROM state_snapshots WHERE tenant_id = ? AND seq = ?
			AND (first_kind < ? OR (first_kind = ? AND first_id <= ?)) ORDER BY first_kind DESC, first_id DESC LIMIT 1`,
			tenantID, h.snap, string(kind), string(kind), id).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
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
		return store.Object{}, fmt.Errorf("store/sqlite: get object %s %q of tenant %q: %w", kind, id, tenantID, err)
	}
	if !found {
		return store.Object{}, fmt.Errorf("store/sqlite: object %s %q of tenant %q: %w", kind, id, tenantID, store.ErrNotFound)
	}
	return o, nil
}
