// Package tenant is the tenant runtime: it owns every tenant's state in
// memory, serialises each tenant's writes through one goroutine, commits
// them in batches (group commit: many commands, one transaction, one fsync)
// and acknowledges a command only once it is durable.
//
// Each tenant has two copies of its state. The writer's copy runs commands
// as they arrive and may be ahead of the store; the readers' copy is exactly
// the last committed state. After a batch commits, the writer replays the
// batch's commands on the readers' copy under a short write lock — the engine
// is deterministic, so both copies stay identical (a test checks it).
// Readers therefore never see uncommitted state and never wait for a commit;
// they wait at most for the replay of one batch in memory.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"allot"
	"allot/licensing"
	"allot/store"
)

// ErrClosed is returned for commands sent after the runtime began closing.
var ErrClosed = errors.New("tenant runtime is shutting down")

// Tenant is one loaded tenant.
type Tenant struct {
	ID string
	rt *Runtime

	mu     sync.RWMutex
	info   store.Tenant // guarded by mu
	reader *State       // guarded by mu

	writer *State // owned by the writer goroutine
	seq    int64  // last audit sequence number, writer-owned

	cmds    chan *command
	stopped chan struct{}
}

type command struct {
	op   licensing.Op
	fn   func(*Tx) error
	err  error
	done chan struct{}
}

// Do runs fn as one command of the tenant: serialised with every other
// write, on the writer's copy of the state, then committed with the other
// commands of its batch and replayed on the readers' copy. It returns fn's
// error, or the commit's. When Do returns nil the change is durable and
// visible to readers. fn must be deterministic (see Tx).
//
// A command that returns an error should change nothing; if it changed the
// state anyway, the change is committed like any other (both copies see the
// same partial effect), so commands validate before they change.
func (t *Tenant) Do(ctx context.Context, op licensing.Op, fn func(*Tx) error) error {
	if op.Now.IsZero() {
		op.Now = t.rt.now()
	}
	c := &command{op: op, fn: fn, done: make(chan struct{})}
	t.rt.closeMu.RLock()
	if t.rt.closing {
		t.rt.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case t.cmds <- c:
		t.rt.closeMu.RUnlock()
	case <-ctx.Done():
		t.rt.closeMu.RUnlock()
		return ctx.Err()
	}
	// Once queued, a command is not abandoned: it may commit.
	<-c.done
	return c.err
}

// Read calls fn with the last committed state. fn must not change the state
// or keep references to it after returning, and should be quick: the next
// batch's replay waits for it.
func (t *Tenant) Read(fn func(s *State)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	fn(t.reader)
}

// Info returns the tenant's record.
func (t *Tenant) Info() store.Tenant {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.info
}

// run is the tenant's writer goroutine.
func (t *Tenant) run() {
	defer close(t.stopped)
	max := t.rt.opts.MaxBatch
	batch := make([]*command, 0, max)
	for c := range t.cmds {
		batch = append(batch[:0], c)
	drain:
		for len(batch) < max {
			select {
			case c, ok := <-t.cmds:
				if !ok {
					break drain
				}
				batch = append(batch, c)
			default:
				break drain
			}
		}
		t.process(batch)
	}
}

// process runs, commits and publishes one batch.
func (t *Tenant) process(batch []*command) {
	start := time.Now()
	var txs []*Tx
	panicked := false
	for _, c := range batch {
		tx := &Tx{State: t.writer, Op: c.op, writing: true}
		c.err = t.call(c.fn, tx)
		if errors.Is(c.err, errPanic) {
			panicked = true
		}
		txs = append(txs, tx)
	}
	d := t.writer.Engine.TakeDelta()
	if panicked {
		// The writer's copy may be half-changed: fail the batch, rebuild.
		t.fail(batch, allot.Errorf(allot.EINTERNAL, "An internal error occurred; the request was not applied."))
		return
	}
	var muts []store.Mutation
	for _, tx := range txs {
		muts = append(muts, tx.muts...)
	}
	var extra = txs[0].audit[:0:0]
	for _, tx := range txs {
		extra = append(extra, tx.audit...)
	}
	seq := t.seq
	change, err := t.serialize(d, muts, extra)
	if err == nil && (len(change.Mutations) > 0 || len(change.Audit) > 0) {
		cstart := time.Now()
		err = t.rt.store.Commit(context.Background(), []store.Change{change})
		t.rt.metrics.commitSeconds.Observe(time.Since(cstart).Seconds())
		t.rt.metrics.batchSize.Observe(float64(len(batch)))
	}
	if err != nil {
		t.seq = seq
		t.rt.log.Error("commit failed; reloading tenant", "tenant", t.ID, "err", err)
		t.fail(batch, allot.Errorf(allot.EINTERNAL, "The change could not be saved; nothing was applied. Try again."))
		return
	}
	// Durable: replay on the readers' copy, then acknowledge.
	t.mu.Lock()
	for i, c := range batch {
		tx := &Tx{State: t.reader, Op: c.op}
		rerr := t.call(c.fn, tx)
		if (rerr == nil) != (c.err == nil) {
			t.rt.log.Error("replay diverged from the writer", "tenant", t.ID, "command", i, "writer", c.err, "reader", rerr)
		}
	}
	t.reader.updateIndexes(t.reader.Engine.TakeDelta())
	t.mu.Unlock()
	t.rt.metrics.commands.Add(float64(len(batch)))
	t.rt.metrics.applySeconds.Observe(time.Since(start).Seconds())
	for _, c := range batch {
		close(c.done)
	}
}

var errPanic = errors.New("command panicked")

// call runs fn and turns a panic into errPanic.
func (t *Tenant) call(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			t.rt.log.Error("command panicked", "tenant", t.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = errPanic
		}
	}()
	return fn(tx)
}

// fail answers every command of a batch with err and rebuilds the writer's
// copy from the store, so that memory is never ahead of the store.
func (t *Tenant) fail(batch []*command, err error) {
	for _, c := range batch {
		c.err = err
	}
	for {
		st, seq, lerr := t.rt.loadState(context.Background(), t.ID)
		if lerr == nil {
			t.writer, t.seq = st, seq
			break
		}
		t.rt.log.Error("reloading tenant failed; retrying", "tenant", t.ID, "err", lerr)
		time.Sleep(time.Second)
	}
	for _, c := range batch {
		close(c.done)
	}
}
