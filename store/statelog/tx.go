package statelog

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

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
	// data is valid only until fn returns (the backend may reuse it).
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
// snapshot, or the legacy rows. A snapshot's parts are read in the
// transaction by one goroutine and decompressed and decoded by
// decodeWorkers others, each part on whichever is free, while fn takes
// the objects of the parts before, in order. opts (at most one) may have
// the workers prepare each object (store.LoadOptions.NewPrepare) and let
// a part's memory be reused once fn has taken its objects (Transient).
func Base(ctx context.Context, tx Tx, tenantID string, h Head, opts ...store.LoadOptions) func(func(store.Object) error) error {
	if h.Snap < 0 {
		return func(fn func(store.Object) error) error { return tx.Legacy(ctx, tenantID, fn) }
	}
	var opt store.LoadOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	return func(fn func(store.Object) error) error {
		type decoded struct {
			objs    []store.Object
			payload []byte // the part's decompressed payload, which objs view
			err     error
		}
		type job struct {
			data []byte
			out  chan decoded // one decoded part, buffered
		}
		jobs := make(chan job, decodeWorkers)
		// The parts' results in stored order: the reader queues a part's
		// channel here before a worker has it, so fn sees the parts in
		// order whichever worker ends first.
		order := make(chan chan decoded, 2*decodeWorkers)
		// The decoded parts' slices go back to the workers once their
		// objects were passed on (a part holds up to 8,192 of them; new
		// slices per part were a sixth of a large load's allocations).
		free := make(chan []store.Object, 2*decodeWorkers+2)
		// The stored parts are copied out of the backend's buffer into
		// buffers that go back once decompressed: at a million users the
		// parts are 166 MB, which the driver's copies made garbage of.
		stored := make(chan []byte, 2*decodeWorkers+2)
		stop := make(chan struct{})
		readDone := make(chan struct{})
		var readErr error
		go func() { // the parts, read in the transaction
			defer close(readDone)
			defer close(order)
			defer close(jobs)
			readErr = tx.Parts(ctx, tenantID, h.Snap, func(data []byte) error {
				var buf []byte
				select {
				case buf = <-stored:
				default:
				}
				j := job{append(buf[:0], data...), make(chan decoded, 1)}
				select {
				case order <- j.out:
				case <-stop:
					return errStopped
				}
				select {
				case jobs <- j:
					return nil
				case <-stop:
					return errStopped
				}
			})
		}()
		// With Transient, the payloads go back to the workers too (see
		// below), and each is decompressed into one of them.
		payloads := make(chan []byte, 2*decodeWorkers+4)
		var workers sync.WaitGroup
		for range decodeWorkers {
			workers.Go(func() {
				var prepare func(*store.Object)
				if opt.NewPrepare != nil {
					prepare = opt.NewPrepare()
				}
				for j := range jobs {
					var d decoded
					select {
					case d.objs = <-free:
					default:
					}
					var into []byte
					if opt.Transient {
						select {
						case into = <-payloads:
						default:
						}
					}
					d.payload, d.err = decodePartInto(j.data, into, func(o store.Object) error {
						d.objs = append(d.objs, o)
						return nil
					})
					select { // the objects are views of the payload, not of j.data
					case stored <- j.data:
					default:
					}
					if prepare != nil && d.err == nil {
						for i := range d.objs {
							prepare(&d.objs[i])
						}
					}
					j.out <- d // buffered: never blocks
				}
			})
		}
		defer func() {
			close(stop)
			<-readDone // the transaction is the caller's again
			workers.Wait()
		}()
		var held []byte // the payload of the part taken last (Transient)
		for out := range order {
			var d decoded
			select {
			case d = <-out:
			case <-ctx.Done():
				return ctx.Err()
			}
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
			// fn keeps no view of these objects (Transient), but Merge
			// keeps the last one to check the next's order: a payload is
			// reused once the part after it has been taken too.
			if opt.Transient {
				if held != nil {
					if poisonReused.Load() {
						poison(held)
					}
					select {
					case payloads <- held:
					default:
					}
				}
				held = d.payload
			}
		}
		<-readDone
		return readErr
	}
}

// poisonReused, when set (PoisonReused), has Base overwrite a part's
// payload before it is reused, so that a caller that kept a view of it
// against store.LoadOptions.Transient reads garbage, not the next part's
// bytes that happen to be valid.
var poisonReused atomic.Bool

// PoisonReused sets whether Base poisons the payloads it reuses (for tests
// of callers that load with store.LoadOptions.Transient); it returns the
// setting before.
func PoisonReused(on bool) bool { return poisonReused.Swap(on) }

func poison(b []byte) {
	for i := range b {
		b[i] = 0xA5
	}
}

// decodeWorkers is how many parts Base decodes at once.
var decodeWorkers = max(1, min(runtime.GOMAXPROCS(0), 4))

var errStopped = fmt.Errorf("statelog: stopped")

// Load calls fn with every object of the tenant in key order, tuned by
// opts (at most one: store.LoadOptions).
func Load(ctx context.Context, tx Tx, tenantID string, fn func(store.Object) error, opts ...store.LoadOptions) error {
	h, err := tx.Head(ctx, tenantID)
	if err != nil {
		return err
	}
	l, err := Fold(ctx, tx, tenantID, h)
	if err != nil {
		return err
	}
	return Merge(Base(ctx, tx, tenantID, h, opts...), l, fn)
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
