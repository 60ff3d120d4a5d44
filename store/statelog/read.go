package statelog

import (
	"context"
	"fmt"

	"allot/store"
)

// Read runs fn inside one of a backend's read transactions (one consistent
// state of the database), with the layout's view of it: the glue every
// backend's loads and change reads share.
type Read func(fn func(Tx) error) error

// keep calls fn and keeps its error apart from the layout's, so that an
// error of the caller's function is returned as it is.
type keep struct{ err error }

func (k *keep) call(err error) error {
	if err != nil {
		k.err = err
	}
	return err
}

// LoadAt is store.ChangeLog.LoadObjectsAt (and, without the number,
// store.Store.LoadObjects) on a backend named backend ("store/sqlite"):
// every object of the tenant in key order (Load) and the number of the last
// record that state includes (0 for none), read in one transaction, tuned
// by opts (at most one: store.LoadOptions). An error of fn stops the load
// and is returned as it is; any other is wrapped with the backend's name.
func LoadAt(ctx context.Context, read Read, backend, tenantID string, fn func(store.Object) error, opts ...store.LoadOptions) (int64, error) {
	var (
		k   keep
		seq int64
	)
	err := read(func(tx Tx) error {
		h, err := tx.Head(ctx, tenantID)
		if err != nil {
			return err
		}
		seq = max(h.Last, 0)
		return Load(ctx, tx, tenantID, func(o store.Object) error { return k.call(fn(o)) }, opts...)
	})
	if k.err != nil {
		return 0, k.err
	}
	if err != nil {
		return 0, fmt.Errorf("%s: load objects of %q: %w", backend, tenantID, err)
	}
	return seq, nil
}

// ChangesAt is store.ChangeLog.Changes on a backend: Changes in one read
// transaction, store.ErrNotFound for a tenant that does not exist. An
// error of fn is returned as it is; any other is wrapped with the
// backend's name.
func ChangesAt(ctx context.Context, read Read, backend, tenantID string, after int64, fn func(int64, []store.Mutation) error) (int64, error) {
	var (
		k    keep
		last int64
	)
	err := read(func(tx Tx) error {
		ok, err := tx.Exists(ctx, tenantID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("tenant %q: %w", tenantID, store.ErrNotFound)
		}
		last, err = Changes(ctx, tx, tenantID, after, func(seq int64, muts []store.Mutation) error { return k.call(fn(seq, muts)) })
		return err
	})
	if k.err != nil {
		return last, k.err
	}
	if err != nil {
		return last, fmt.Errorf("%s: changes of %q: %w", backend, tenantID, err)
	}
	return last, nil
}
