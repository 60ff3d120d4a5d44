package statelog

import (
	"context"
	"fmt"

	"allot/store"
)

// Head is where a tenant's log stands: Snap is the snapshot in use, -1 for
// none (the legacy objects rows are the base), Last the last record's
// number (the snapshot's when no record follows it, 0 for a tenant with
// neither), LogBytes the bytes of the records after the snapshot.
// PostgreSQL keeps all three in the tenant's state_heads row; SQLite keeps
// only the snapshot there and derives the rest from the log
// (store/sqlite/tails.go).
type Head struct {
	Snap, Last, LogBytes int64
}

// NoHead is the head of a tenant without a snapshot or a record.
var NoHead = Head{Snap: -1}

// Tx is what the layout reads, inside one transaction of a backend (so
// that everything read is one state of the database).
type Tx interface {
	// Exists reports whether the tenant exists (has a tenants row).
	Exists(ctx context.Context, tenantID string) (bool, error)
	// Head returns the tenant's head, NoHead for a tenant without a
	// snapshot or a record.
	Head(ctx context.Context, tenantID string) (Head, error)
	// Records calls fn with the tenant's records after the given number,
	// in order.
	Records(ctx context.Context, tenantID string, after int64, fn func(seq int64, data []byte) error) error
	// Parts calls fn with the parts of the tenant's snapshot seq, in order.
	Parts(ctx context.Context, tenantID string, seq int64, fn func(data []byte) error) error
	// PartFor returns the one part of snapshot seq that can hold a key
	// (the last whose first key is not greater), false if none.
	PartFor(ctx context.Context, tenantID string, seq int64, kind store.Kind, id string) ([]byte, bool, error)
	// Legacy calls fn with the tenant's objects rows of earlier versions,
	// in key order.
	Legacy(ctx context.Context, tenantID string, fn func(store.Object) error) error
	// LegacyObject returns one objects row's body, false if none.
	LegacyObject(ctx context.Context, tenantID string, kind store.Kind, id string) ([]byte, bool, error)
}

// Fold folds the tenant's records after the head's snapshot.
func Fold(ctx context.Context, tx Tx, tenantID string, h Head) (*Log, error) {
	l := &Log{}
	err := tx.Records(ctx, tenantID, h.Snap, func(seq int64, data []byte) error {
		if err := l.Fold(data); err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		return nil
	})
	return l, err
}

// Base streams the tenant's base objects in key order: the head's
// snapshot, or the legacy rows. A snapshot's next part is read and
// decompressed by a second goroutine while fn takes the current one's
// objects.
func Base(ctx context.Context, tx Tx, tenantID string, h Head) func(func(store.Object) error) error {
	if h.Snap < 0 {
		return func(fn func(store.Object) error) error { return tx.Legacy(ctx, tenantID, fn) }
	}
	return func(fn func(store.Object) error) error {
		type decoded struct {
			objs []store.Object
			err  error
		}
		datas := make(chan []byte, 2)
		out := make(chan decoded, 2)
		// The decoded parts' slices go back to the decoder once their
		// objects were passed on (a part holds up to 8,192 of them; new
		// slices per part were a sixth of a large load's allocations).
		free := make(chan []store.Object, 4)
		stop := make(chan struct{})
		readDone := make(chan struct{})
		var readErr error
		go func() { // the parts, read in the transaction
			defer close(readDone)
			defer close(datas)
			readErr = tx.Parts(ctx, tenantID, h.Snap, func(data []byte) error {
				select {
				case datas <- data:
					return nil
				case <-stop:
					return errStopped
				}
			})
		}()
		go func() { // decoded
			defer close(out)
			for data := range datas {
				var d decoded
				select {
				case d.objs = <-free:
				default:
				}
				d.err = DecodePart(data, func(o store.Object) error {
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
		defer func() {
			close(stop)
			<-readDone // the transaction is the caller's again
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
			clear(d.objs)
			select {
			case free <- d.objs[:0]:
			default:
			}
		}
		<-readDone
		return readErr
	}
}

var errStopped = fmt.Errorf("statelog: stopped")

// Load calls fn with every object of the tenant in key order.
func Load(ctx context.Context, tx Tx, tenantID string, fn func(store.Object) error) error {
	h, err := tx.Head(ctx, tenantID)
	if err != nil {
		return err
	}
	l, err := Fold(ctx, tx, tenantID, h)
	if err != nil {
		return err
	}
	return Merge(Base(ctx, tx, tenantID, h), l, fn)
}

// Get returns one object: the last record after the snapshot that touches
// it, else the one snapshot part that can hold it (or the legacy row).
func Get(ctx context.Context, tx Tx, tenantID string, kind store.Kind, id string) (store.Object, bool, error) {
	o := store.Object{Kind: kind, ID: id}
	h, err := tx.Head(ctx, tenantID)
	if err != nil {
		return o, false, err
	}
	l, err := Fold(ctx, tx, tenantID, h)
	if err != nil {
		return o, false, err
	}
	if m, ok := l.Get(kind, id); ok {
		o.Body = m.Body
		return o, !m.Delete, nil
	}
	if h.Snap < 0 {
		body, ok, err := tx.LegacyObject(ctx, tenantID, kind, id)
		o.Body = body
		return o, ok, err
	}
	data, ok, err := tx.PartFor(ctx, tenantID, h.Snap, kind, id)
	if err != nil || !ok {
		return o, false, err
	}
	found := false
	err = DecodePart(data, func(p store.Object) error {
		if p.Kind == kind && p.ID == id {
			o.Body, found = p.Body, true
		}
		return nil
	})
	return o, found, err
}

// Current returns the tenant's objects in key order with muts applied after
// its log: what a bulk commit merges its stream into (few objects, for the
// new tenant an import fills).
func Current(ctx context.Context, tx Tx, tenantID string, h Head, muts []store.Mutation) ([]store.Object, error) {
	l, err := Fold(ctx, tx, tenantID, h)
	if err != nil {
		return nil, err
	}
	for _, m := range muts {
		l.Add(m)
	}
	var cur []store.Object
	err = Merge(Base(ctx, tx, tenantID, h), l, func(o store.Object) error {
		cur = append(cur, o)
		return nil
	})
	return cur, err
}
