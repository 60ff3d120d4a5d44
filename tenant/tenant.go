// Package tenant is the tenant runtime: it owns every tenant's state in
// memory, serialises each tenant's writes through one goroutine, commits
// them in batches (group commit: many commands, one transaction, one fsync)
// and acknowledges a command only once it is durable.
//
// Each tenant has two copies of its state. The writer's copy runs commands
// as they arrive and may be ahead of the store; the readers' copy is exactly
// the last committed state. After a batch commits, the readers' copy applies
// the batch's committed change — the records the store now holds, the same
// data a restart loads — under a short write lock (State.apply); no command
// runs twice, and a test checks after every batch that both copies are the
// same, down to what the engine derives. Readers therefore never see
// uncommitted state and never wait for a commit; they wait at most for one
// change to be applied in memory.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
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

	mu   sync.RWMutex
	info store.Tenant // guarded by mu
	// infoSet is when this process last replaced info (UpdateInfo;
	// guarded by mu): a list of tenants read before it is older.
	infoSet time.Time
	reader  *State // guarded by mu; its commit counts the published batches

	writer *State // owned by the writer goroutine
	seq    int64  // last audit sequence number, writer-owned
	// behind: the writer has no copy of its own that is the last commit:
	// the tenant was just loaded, or was idle (Options.IdleWriter), and
	// writer is nil, or a bulk batch was published by swapping the copies
	// and writer is the old readers' copy (see DoBulk). catchUp makes it
	// anew before the next command. Writer-owned.
	behind bool
	idle   *time.Timer // Options.IdleWriter; writer-owned
	// written is when the writer last ran a command other than a snapshot
	// (which needs no writer's copy); writer-owned.
	written time.Time
	// gone: the tenant was deleted (Runtime.Delete); every later command
	// is answered ENOTFOUND. Writer-owned.
	gone bool
	// fence: the lease token under which the writer's and readers'
	// copies are the store's state (Options.Leases; lease.go); 0 without
	// leases. Writer-owned.
	fence int64

	follow followState // follow.go

	cmds    chan *command
	stopped chan struct{} // closed when the writer stopped, or when a load failed (no writer)

	// Loading (load.go). loaded is closed once the load ended: then
	// loadErr is nil and serving true, or loadErr says why it failed.
	loaded  chan struct{}
	loadErr error
	serving atomic.Bool
	since   time.Time // when the tenant was queued for loading
	// problems of the stored state found at load (see Problem): while
	// there are any, the tenant is read-only.
	problems atomic.Pointer[[]Problem]
}

type command struct {
	op   licensing.Op
	fn   func(*Tx) error
	bulk bool // DoBulk: alone in its batch; a large change is published by a swap
	// snap asks for a snapshot of the writer's copy (Tenant.Snapshot)
	// instead of running fn; the snapshot is returned in state.
	snap  bool
	state *State
	// writerCopy: when the snapshot was made, the writer had a copy of
	// its own (see Tenant.behind; for tests).
	writerCopy bool
	// give is a snapshot its caller gives back (Tenant.Return) instead of
	// running fn; kept reports whether it became the writer's copy.
	give *State
	kept bool
	// drop deletes the tenant (Runtime.Delete) if it returns nil for the
	// last committed state.
	drop func(*State) error
	// follow: a follower step (follow.go) instead of fn.
	follow bool
	// between runs instead of fn, between two batches (Tenant.Between).
	between func() error
	// try runs instead of fn on the writer's copy, which is then set
	// back (Tenant.Try).
	try  func(before, after *State) error
	err  error
	done chan struct{}
	// discarded: fn returned an error after changing the state; its
	// changes were dropped and it is not run again (see process).
	discarded bool
}

// Do runs fn as one command of the tenant: serialised with every other
// write, on the writer's copy of the state, then committed with the other
// commands of its batch, whose change the readers' copy applies. It returns fn's
// error, or the commit's. When Do returns nil the change is durable and
// visible to readers. fn must be deterministic (see Tx).
//
// A command that returns an error changes nothing: commands validate
// before they change, and if one changed the state anyway (an engine
// command, a Put, Persist or Audit before the error) the runtime drops its
// changes by rebuilding the writer's copy from the last commit and running
// the rest of the batch again without it (logged as an error: a command
// that does this has a validation bug, and costs a snapshot).
//
// A tenant with problems (Problems) is read-only: Do refuses every command
// (ECONFLICT).
func (t *Tenant) Do(ctx context.Context, op licensing.Op, fn func(*Tx) error) error {
	return t.do(ctx, &command{op: op, fn: fn})
}

// DoBulk is Do for a command that changes much of the tenant at once (an
// import): it runs in a batch of its own and, when its change is large, it
// is published by swapping the two copies instead of being applied to the
// readers' copy before the acknowledgement; before the tenant's next
// command (never, if the runtime closes first) the other copy is replaced
// by a snapshot of the published one. Into a tenant without users and
// groups, the change's new engine records are streamed to the store
// (store.CommitBulk) rather than built in memory first.
//
// A small change is applied to the readers' copy like any other. A bulk
// command that returns an error is
// all or nothing even if it changed the state before failing: nothing is
// committed and the writer's copy is rebuilt from the store. Everything
// else is as for Do.
func (t *Tenant) DoBulk(ctx context.Context, op licensing.Op, fn func(*Tx) error) error {
	return t.do(ctx, &command{op: op, fn: fn, bulk: true})
}

func (t *Tenant) do(ctx context.Context, c *command) error {
	if ps := t.Problems(); len(ps) > 0 && !c.snap && c.between == nil && c.try == nil && c.give == nil {
		return errReadOnly(t.ID, ps)
	}
	if c.op.Now.IsZero() {
		c.op.Now = t.rt.now()
	}
	c.done = make(chan struct{})
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

// Snapshot returns an independent copy of the last committed state
// (State.Snapshot), for a computation too long for Tenant.Read. It is made
// by the writer goroutine from the writer's copy between two batches, so
// readers never wait for it; commands wait while it is made (about a second
// at a million users). Its State.Commit says which commit it is.
func (t *Tenant) Snapshot(ctx context.Context) (*State, error) {
	c := &command{snap: true}
	if err := t.do(ctx, c); err != nil {
		return nil, err
	}
	return c.state, nil
}

// Return gives back a snapshot (Snapshot) that the caller has finished
// with: it read it only, and neither it nor anything it handed the
// snapshot to uses it again. When the tenant has no writer's copy of its
// own (it was idle, or just loaded: see catchUp) and no command has
// committed since the snapshot was made, the snapshot becomes the writer's
// copy — it is exactly the copy the next command would make (about a
// second and a copy's memory at a million users); otherwise it is
// dropped. It reports whether the snapshot was kept. For a computation
// that ends with a command (the daily position snapshot saves what it
// computed), that command then costs no copy of the tenant.
func (t *Tenant) Return(ctx context.Context, s *State) bool {
	if s == nil {
		return false
	}
	c := &command{give: s}
	if err := t.do(ctx, c); err != nil {
		return false
	}
	return c.kept
}

// keep makes s, a snapshot given back (Return), the writer's copy if the
// tenant has none of its own and s is of the last commit. Writer goroutine
// only.
func (t *Tenant) keep(s *State) bool {
	if !t.behind || t.gone || s.reg != t.reader.reg || s.commit != t.reader.commit || len(t.Problems()) > 0 {
		return false
	}
	s.dropIndexes() // as a copy made by catchUp: the writer's copy keeps no read models
	t.writer, t.behind = s, false
	t.written = time.Now() // a fresh copy: the idle timer starts again
	return true
}

// Between runs fn on the tenant's writer goroutine between two batches:
// no command of the tenant runs, and none of its commits is in progress,
// while fn runs; the commands queued before it have ended. It returns
// fn's error, or ctx's if the tenant's queue stays full until ctx ends,
// ErrClosed if the runtime is closing, ENOTFOUND for a deleted tenant.
// fn must not call the tenant's commands (they would wait for it). Used
// to hand the tenant's lease to another process (package lease).
func (t *Tenant) Between(ctx context.Context, fn func() error) error {
	return t.do(ctx, &command{between: fn})
}

// Read calls fn with the last committed state. fn must not change the state
// or keep references to it after returning, and should be quick: applying
// the next batch's change waits for it.
func (t *Tenant) Read(fn func(s *State)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	fn(t.reader)
}

// Now is the runtime's clock (Runtime.Now): the time of what a caller
// stores or shows for this tenant.
func (t *Tenant) Now() time.Time { return t.rt.now() }

// Info returns the tenant's record.
func (t *Tenant) Info() store.Tenant {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.info
}

// run is the tenant's writer goroutine. A bulk command (DoBulk) is always
// a batch of its own.
func (t *Tenant) run() {
	defer close(t.stopped)
	max := t.rt.opts.MaxBatch
	batch := make([]*command, 0, max)
	var next *command // a bulk command that ended the previous batch
	for {
		c := next
		next = nil
		if c == nil {
			var ok bool
			if c, ok = t.next(); !ok {
				return
			}
		}
		if t.gone {
			c.err = allot.Errorf(allot.ENOTFOUND, "Tenant %s does not exist.", t.ID)
			close(c.done)
			continue
		}
		if c.follow { // follow.go
			t.followLog()
			close(c.done)
			continue
		}
		if c.between != nil {
			c.err = c.between()
			close(c.done)
			continue
		}
		if c.try != nil {
			c.err = t.runTry(c.try)
			close(c.done)
			continue
		}
		if c.give != nil {
			c.kept = t.keep(c.give)
			close(c.done)
			continue
		}
		if c.snap {
			// Between batches the readers' copy is the last commit; so
			// is the writer's, unless it is behind.
			src := t.writer
			if t.behind {
				src = t.reader // only this goroutine changes it
			}
			c.state = src.Snapshot()
			c.state.commit = t.reader.commit
			c.writerCopy = !t.behind
			close(c.done)
			continue
		}
		if err := t.lease(c); err != nil { // several processes share the store: lease.go
			c.err = err
			close(c.done)
			continue
		}
		t.catchUp(c.op)
		t.written = time.Now()
		if c.drop != nil {
			c.err = t.delete(c.drop)
			close(c.done)
			continue
		}
		batch = append(batch[:0], c)
	drain:
		for !c.bulk && len(batch) < max {
			select {
			case c2, ok := <-t.cmds:
				if !ok {
					break drain
				}
				if c2.bulk || c2.snap || c2.give != nil || c2.drop != nil || c2.follow || c2.between != nil || c2.try != nil {
					next = c2
					break drain
				}
				batch = append(batch, c2)
			default:
				break drain
			}
		}
		t.process(batch)
	}
}

// next waits for the next command. While it waits longer than
// Options.IdleWriter, the writer's copy is dropped: the tenant holds one
// copy until its next command (catchUp).
func (t *Tenant) next() (*command, bool) {
	d := t.rt.opts.IdleWriter
	if t.behind || d < 0 {
		c, ok := <-t.cmds
		return c, ok
	}
	d -= time.Since(t.written)
	if t.idle == nil {
		t.idle = time.NewTimer(d)
	} else {
		t.idle.Reset(d)
	}
	select {
	case c, ok := <-t.cmds:
		t.idle.Stop()
		return c, ok
	case <-t.idle.C:
		t.writer, t.behind = nil, true
		t.rt.log.Debug("idle tenant: the writer's copy is dropped", "tenant", t.ID)
		c, ok := <-t.cmds
		return c, ok
	}
}

// catchUp makes the writer's copy the last commit again when it is behind
// (just loaded, idle, or after a bulk change was published by swapping
// copies): the writer's copy, if any, is dropped and replaced by a
// snapshot of the readers' copy, which is exactly the last commit. Only
// the writer goroutine changes the readers' copy, so it can read it here
// without the lock, as readers do.
func (t *Tenant) catchUp(for_ licensing.Op) {
	if !t.behind {
		return
	}
	t.behind = false
	start := time.Now()
	t.writer = nil // let the collector have it while the snapshot is made
	t.writer = t.reader.Snapshot()
	level := slog.LevelDebug
	if time.Since(start) > 100*time.Millisecond {
		level = slog.LevelInfo
	}
	t.rt.log.Log(context.Background(), level, "writer's copy made from the readers'", "tenant", t.ID, "seconds", time.Since(start).Seconds(),
		"for", for_.Actor, "why", for_.Why)
}

// process runs, commits and publishes one batch.
func (t *Tenant) process(batch []*command) {
	start := time.Now()
	fresh := t.writer.Engine.UserCount() == 0 && len(t.writer.Engine.GroupIDs()) == 0
	var txs []*Tx
	panicked := false
	for i := 0; i < len(batch); i++ {
		c := batch[i]
		if c.discarded {
			continue
		}
		tx := &Tx{State: t.writer, Op: c.op}
		clock := t.writer.Engine.Clock()
		c.err = t.call(c.fn, tx)
		if errors.Is(c.err, errPanic) {
			panicked = true
		}
		if c.err != nil && !panicked && tx.changed(clock) {
			// All or nothing: a refused command changed the writer's
			// copy before it failed. Drop its effect: the writer's copy
			// becomes the last commit again and the batch runs anew
			// without it (commands are deterministic).
			t.rt.log.Error("a refused command changed the state; its changes are discarded", "tenant", t.ID, "err", c.err)
			c.discarded = true
			t.writer = nil
			t.writer = t.reader.Snapshot()
			txs, i = txs[:0], -1
			continue
		}
		txs = append(txs, tx)
	}
	if len(txs) == 0 {
		for _, c := range batch {
			close(c.done)
		}
		return
	}
	d, allNew := t.takeDelta(fresh)
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
	big := allNew || engineObjects(&d) >= bulkMin
	// swap: publish the writer's copy instead of applying the change to
	// the readers' (see DoBulk); a change streamed to the store
	// (commitBulk) is not in memory to apply.
	swap := big && (fresh || (len(batch) == 1 && batch[0].bulk))
	var (
		err    error
		change store.Change
	)
	observe := func(cstart time.Time) {
		t.rt.metrics.commitSeconds.Observe(time.Since(cstart).Seconds())
		t.rt.metrics.batchSize.Observe(float64(len(batch)))
	}
	indexed := false
	if big && fresh {
		// The records are streamed from the engine (commitBulk), and a
		// swap publishes the copy: the delta's keys of them (millions at
		// an import) are not read again, and are let go of now.
		d.Users, d.Groups, d.Members, d.GroupLicenses, d.DirectLicenses, d.Licenses = nil, nil, nil, nil, nil, nil
		cstart := time.Now()
		indexed, err = t.commitFresh(d, muts, extra, swap)
		observe(cstart)
		if err == nil {
			t.committed(&change, true)
			t.stampBulk()
		}
	} else {
		change, err = t.serialize(d, muts, extra, true)
		if err == nil && (len(change.Mutations) > 0 || len(change.Audit) > 0) {
			cstart := time.Now()
			cs := []store.Change{change}
			err = t.rt.store.Commit(context.Background(), cs)
			observe(cstart)
			if err == nil {
				change.Seq = cs[0].Seq
				t.committed(&change, false)
			}
		}
	}
	if err != nil {
		t.seq = seq
		t.rt.log.Error("commit failed; reloading tenant", "tenant", t.ID, "err", err)
		answer := commitFailure(err)
		if !t.fenced(err) { // a lost lease says nothing of the store's health: lease.go
			t.rt.noteCommit(answer)
		}
		t.fail(batch, answer)
		return
	}
	t.rt.noteCommit(nil)
	t.writer.Engine.Recycle(&d) // serialized and committed: its memory serves the next batch
	if swap {
		t.publishBySwap(indexed)
	} else {
		t.publish(&change)
	}
	t.follow.advance()
	t.rt.metrics.commands.Add(float64(len(batch)))
	t.rt.metrics.applySeconds.Observe(time.Since(start).Seconds())
	for _, c := range batch {
		close(c.done)
	}
}

// takeDelta takes the writer's delta. Into a tenant without users and
// groups (fresh) every record is new, and the delta may leave an import's
// users and memberships implied (allNew: licensing.Engine.TakeBulkDelta),
// which the bulk commit streams from the engine.
func (t *Tenant) takeDelta(fresh bool) (d licensing.Delta, allNew bool) {
	if fresh {
		return t.writer.Engine.TakeBulkDelta(bulkMin)
	}
	return t.writer.Engine.TakeDelta(), false
}

// publishBySwap publishes the writer's copy, which is the last commit, as
// the readers' and replaces the old readers' copy later (catchUp). Its
// indexes are built before it is published (here, unless indexed says they
// were built already), so no reader builds one.
func (t *Tenant) publishBySwap(indexed bool) {
	if !indexed {
		t.writer.buildIndexes()
	}
	t.mu.Lock()
	old := t.reader
	t.reader, t.writer = t.writer, old
	t.reader.commit = old.commit + 1
	t.mu.Unlock()
	old.dropIndexes()
	t.behind = true
	if t.rt.opts.AfterCommit != nil {
		t.rt.opts.AfterCommit(t.ID, nil, nil)
	}
}

// publish applies a committed change to the readers' copy and passes what
// changed to its read models. A change the copy cannot apply (a bug: it
// is logged) makes the copy a snapshot of the writer's, which is the same
// commit between two batches.
func (t *Tenant) publish(c *store.Change) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rd, err := t.reader.apply(c, t.writer.Engine.Clock(), t.rt.cat)
	if err != nil {
		t.rt.log.Error("the readers' copy could not apply a committed change; replacing it by a snapshot of the writer's", "tenant", t.ID, "err", err)
		commit := t.reader.commit
		t.reader = t.writer.Snapshot()
		t.reader.commit = commit + 1
		t.reader.buildIndexes()
		if t.rt.opts.AfterCommit != nil {
			t.rt.opts.AfterCommit(t.ID, nil, nil)
		}
		return
	}
	t.reader.commit++
	t.reader.updateIndexes(rd)
	if t.rt.opts.AfterCommit != nil {
		t.rt.opts.AfterCommit(t.ID, &rd, c.Mutations)
	}
	t.reader.Engine.Recycle(&rd)
}

// delete removes the tenant from the store and the runtime if check
// accepts its last committed state (the writer's copy between batches).
// Commands still queued, and every later one, get ENOTFOUND.
func (t *Tenant) delete(check func(*State) error) error {
	if err := check(t.writer); err != nil {
		return err
	}
	if err := t.deleteStored(); err != nil { // under the tenant's lease: lease.go
		return err
	}
	t.gone = true
	t.rt.mu.Lock()
	delete(t.rt.tenants, t.ID)
	t.rt.mu.Unlock()
	t.writer = nil
	return nil
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
// copy from the store, so that memory is never ahead of the store. The
// commands are answered once the copy is rebuilt, or when the first rebuild
// fails: the rebuild retries until the store can be read, which a database
// whose files refuse writes may not allow for a long time, and the clients
// must not wait for it (the next batch does, as it runs on this goroutine).
func (t *Tenant) fail(batch []*command, err error) {
	answered := false
	answer := func() {
		if !answered {
			answered = true
			for _, c := range batch {
				c.err = err
				close(c.done)
			}
		}
	}
	t.reloadWriter(answer)
	answer()
}

// reloadWriter rebuilds the writer's copy from the store, on the readers'
// engine clock: the readers' copy is the store's state and ran exactly the
// committed commands, so the rebuilt copy must continue from its clock, or
// the next commands (stamped before the rebuild, queued while it ran) would
// claim at different times in the two copies. Only the writer goroutine
// changes the readers' copy, so it reads the clock without the lock.
//
// failed is called when a rebuild fails, before it is retried.
func (t *Tenant) reloadWriter(failed func()) {
	t.writer = nil // let the collector have it while the new one loads
	clock := t.reader.Engine.Clock()
	for {
		st, seq, problems, lerr := t.rt.loadStateFenced(context.Background(), t.ID, clock, t.fence)
		if lerr == nil {
			t.writer, t.seq = st, seq
			if len(problems) > 0 {
				t.setProblems(problems)
			}
			return
		}
		t.rt.log.Error("reloading tenant failed; retrying", "tenant", t.ID, "err", lerr)
		failed()
		time.Sleep(time.Second)
	}
}
