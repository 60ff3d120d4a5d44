package tenant

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot"
	"allot/store"
)

// Followers. When several processes share the store (Options.Leases), each
// tenant is written by one of them; every other process keeps its copy of
// the tenant current by applying the tenant's committed changes read back
// from the store's log (store.ChangeLog) — the same data, applied the same
// way (State.apply), as the owner's readers' copy applies after its own
// commits. Every copy knows the log number of the last change it includes
// (State.logSeq), so a change is never missed nor applied twice: a
// follower reads the records after its number, in order, and a log that no
// longer has them (compacted, or a bulk commit's snapshot) makes it read
// the tenant anew.
//
// A follower step is a command of the tenant's writer goroutine (poke), so
// it runs between batches: the readers' copy keeps its one writer, and the
// owner, which finds nothing after its own number, pays one query. What
// wakes it: the store's notifications (PostgreSQL NOTIFY, sent in each
// commit's transaction) and a poll every FollowOptions.Poll as a fallback.
// A process that takes a tenant over catches its copy up the same way
// before its first command (lease.go), instead of reading the whole tenant.

// followState is a tenant's follower bookkeeping.
type followState struct {
	// queued: a follower step is queued and has not started.
	queued atomic.Bool
	mu     sync.Mutex
	// advanced is closed and replaced whenever the readers' copy's log
	// number grows (WaitSeq).
	advanced chan struct{}
}

// wait returns a channel closed at the next advance.
func (f *followState) wait() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.advanced == nil {
		f.advanced = make(chan struct{})
	}
	return f.advanced
}

func (f *followState) advance() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.advanced != nil {
		close(f.advanced)
		f.advanced = nil
	}
}

// LogSeq is the log number of the tenant's last committed change its
// readers see (store.ChangeLog; 0 for none), or -1 if the store keeps no
// numbered log. A client that saw a write answered with X-Allot-Seq n
// reads its effect from any process whose LogSeq is n or more.
func (t *Tenant) LogSeq() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.reader.logSeq
}

// Advanced returns a channel closed the next time the readers' copy's log
// number grows (a change applied after this process's commit or from the
// log). Unlike WaitSeq it does not ask the follower to look at the log:
// an observer (allot bench follow) sees when the follower got there.
func (t *Tenant) Advanced() <-chan struct{} { return t.follow.wait() }

// WaitSeq waits until the readers' copy includes the change numbered seq
// (LogSeq ≥ seq), asking the follower to look at the log at once. It
// returns ctx's error if ctx ends first, and an EUNAVAILABLE error if the
// store keeps no numbered log.
func (t *Tenant) WaitSeq(ctx context.Context, seq int64) error {
	for {
		ch := t.follow.wait()
		cur := t.LogSeq()
		if cur >= seq {
			return nil
		}
		if cur < 0 {
			return allot.Errorf(allot.EUNAVAILABLE, "This allot server cannot wait for commit %d of tenant %s: its store keeps no numbered log.", seq, t.ID)
		}
		t.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// poke queues a follower step unless one is queued already (or the
// queue is full: the next poll retries).
func (t *Tenant) poke() {
	if !t.serving.Load() || !t.follow.queued.CompareAndSwap(false, true) {
		return
	}
	c := &command{follow: true, done: make(chan struct{})}
	t.rt.closeMu.RLock()
	defer t.rt.closeMu.RUnlock()
	if t.rt.closing {
		t.follow.queued.Store(false)
		return
	}
	select {
	case t.cmds <- c:
	default:
		t.follow.queued.Store(false)
	}
}

// followLog is a follower step (writer goroutine): it applies the changes
// committed after the readers' copy's number, if any.
func (t *Tenant) followLog() {
	t.follow.queued.Store(false)
	if t.rt.opts.Leases == nil {
		return // this process is the only writer: nothing to follow
	}
	if _, err := t.catchUpLog(); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			t.dropDeleted()
			return
		}
		t.rt.log.Warn("following the tenant's log failed; reading it anew", "tenant", t.ID, "err", err)
		if err := t.reread(); err != nil {
			t.rt.log.Error("reading the tenant anew failed; the next step retries", "tenant", t.ID, "err", err)
		}
	}
}

// catchUpLog applies to the readers' copy every change the log has after
// the copy's number and returns how many it applied. Having applied any,
// the writer's copy is dropped (rebuilt from the readers' before the next
// command: catchUp) and the lease token is forgotten: another process
// wrote the tenant. An error (the log was compacted past the copy's
// number, a change does not apply, the tenant is gone, the store fails)
// leaves the copy at the last change applied; after a failed apply it may
// be half-changed, so the caller must read the tenant anew (reread).
// Writer goroutine only.
func (t *Tenant) catchUpLog() (int, error) {
	cl, ok := t.rt.store.(store.ChangeLog)
	if !ok || t.reader.logSeq < 0 {
		return 0, fmt.Errorf("tenant %s: no numbered log to follow: %w", t.ID, store.ErrCompacted)
	}
	start := time.Now()
	n := 0
	var applyErr error
	_, err := cl.Changes(context.Background(), t.ID, t.reader.logSeq, func(seq int64, muts []store.Mutation) error {
		if seq != t.reader.logSeq+1 { // the store's contract; checked anyway
			return fmt.Errorf("record %d after %d: %w", seq, t.reader.logSeq, store.ErrCompacted)
		}
		c := &store.Change{TenantID: t.ID, Mutations: muts, Seq: seq}
		if n == 0 {
			t.writer, t.behind, t.fence = nil, true, 0
		}
		t.mu.Lock()
		rd, err := t.reader.apply(c, t.rt.now(), t.rt.cat)
		if err == nil {
			t.reader.commit++
			t.reader.updateIndexes(rd)
			t.reader.Engine.Recycle(&rd)
		}
		t.mu.Unlock()
		if err != nil {
			applyErr = err
			return err
		}
		n++
		t.follow.advance()
		return nil
	})
	if n > 0 {
		t.rt.follow.applied.Add(float64(n))
		t.rt.log.Debug("tenant followed", "tenant", t.ID, "changes", n, "seq", t.LogSeq(), "seconds", time.Since(start).Seconds())
	}
	if applyErr != nil {
		return n, fmt.Errorf("applying a change of the log: %w", applyErr)
	}
	return n, err
}

// reread replaces the readers' copy by the tenant read anew from the
// store (without a lease: nothing is repaired) and drops the writer's.
// Writer goroutine only.
func (t *Tenant) reread() error {
	st, _, problems, err := t.rt.loadStateFenced(context.Background(), t.ID, t.rt.now(), 0)
	if err != nil {
		return err
	}
	st.buildIndexes()
	t.mu.Lock()
	old := t.reader
	st.commit = old.commit + 1
	t.reader = st
	t.mu.Unlock()
	old.dropIndexes()
	t.writer, t.behind, t.fence = nil, true, 0
	t.setProblems(problems)
	t.rt.follow.reloads.Inc()
	t.follow.advance()
	t.rt.log.Info("tenant read anew from the database to follow it", "tenant", t.ID, "seq", st.logSeq)
	return nil
}

// takeOver makes the tenant's copies current under a new lease token:
// the readers' copy catches up from the log (or, if it cannot, the tenant
// is read anew: refresh), and the audit numbering continues from the
// store's. Writer goroutine only; called once the lease is taken, so every
// commit of the previous holder is in the log.
func (t *Tenant) takeOver(fence int64) error {
	start := time.Now()
	n, err := t.catchUpLog()
	if err == nil {
		var seq int64
		if seq, err = t.rt.store.MaxAuditSeq(context.Background(), t.ID); err == nil {
			t.seq, t.fence = seq, fence
			if n > 0 || t.writer == nil {
				t.writer, t.behind = nil, true
			}
			t.rt.log.Info("tenant caught up from the log under a new lease", "tenant", t.ID, "token", fence, "changes", n,
				"seq", t.LogSeq(), "seconds", time.Since(start).Seconds())
			return nil
		}
	}
	t.rt.log.Info("tenant cannot catch up from the log; reading it anew", "tenant", t.ID, "err", err)
	if err := t.refresh(fence); err != nil {
		return err
	}
	t.follow.advance()
	return nil
}

// dropDeleted forgets a tenant another process deleted: every later
// command is answered ENOTFOUND, and the runtime no longer lists it.
func (t *Tenant) dropDeleted() {
	t.gone = true
	t.writer = nil
	t.rt.mu.Lock()
	if t.rt.tenants[t.ID] == t {
		delete(t.rt.tenants, t.ID)
	}
	t.rt.mu.Unlock()
	t.rt.log.Info("tenant deleted by another process", "tenant", t.ID)
}

// committed records the log number of a batch's change in the writer's
// copy (the readers' takes it from the change it applies, State.apply).
// A bulk commit's number is read from the store: under the tenant's lease
// (or as the only writer process) nobody else appends meanwhile.
func (t *Tenant) committed(c *store.Change, bulk bool) {
	switch {
	case c.Seq > 0:
		t.writer.logSeq = c.Seq
	case bulk:
		t.writer.logSeq = -1
		if cl, ok := t.rt.store.(store.ChangeLog); ok {
			if seq, err := cl.LogSeq(context.Background(), t.ID); err == nil {
				t.writer.logSeq = seq
			}
		}
	}
}

// FollowOptions tune Runtime.Follow.
type FollowOptions struct {
	// Poll is how often every tenant is checked without a notification,
	// and the tenants other processes created or deleted are found
	// (default 2 s).
	Poll time.Duration
}

// followMetrics count the followers' work.
type followMetrics struct {
	applied prometheus.Counter
	reloads prometheus.Counter
	adopted prometheus.Counter
}

func newFollowMetrics(reg prometheus.Registerer) followMetrics {
	m := followMetrics{
		applied: prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_follow_applied_total", Help: "Changes another process committed, applied from the log."}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_follow_reloads_total", Help: "Tenants read anew because their log could not be followed (compacted past the copy)."}),
		adopted: prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_follow_adopted_total", Help: "Tenants another process created, loaded to be followed."}),
	}
	if reg != nil {
		reg.MustRegister(m.applied, m.reloads, m.adopted)
	}
	return m
}

// holder is what Follow asks of Options.Leases to skip the tenants this
// process writes (lease.Keeper has it).
type holder interface{ Holds(tenantID string) bool }

// Follow keeps every tenant this process does not write current until ctx
// ends: on each notification of the store (store.ChangeNotifier) for a
// tenant whose readers are behind, and every Poll for every tenant, a
// follower step runs on the tenant's writer; a tenant another process
// created is loaded, and one it deleted is dropped. It returns when ctx
// ends. Without Options.Leases it returns at once (nothing to follow).
// The store must outlive ctx (end ctx before closing the store).
func (r *Runtime) Follow(ctx context.Context, o FollowOptions) {
	if r.opts.Leases == nil {
		return
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	wake := make(chan string, 64) // tenants to adopt; "" for a full check
	var wg sync.WaitGroup
	if n, ok := r.store.(store.ChangeNotifier); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = n.Notifications(ctx, func(id string, seq int64) { r.notified(id, seq, wake) })
		}()
	}
	tick := time.NewTicker(o.Poll)
	defer func() {
		tick.Stop()
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-wake:
			if id == "" {
				r.followAll(ctx)
			} else {
				r.adopt(ctx, id)
			}
		case <-tick.C:
			r.followAll(ctx)
		}
	}
}

// notified handles a store's notification: a tenant whose readers are
// behind seq gets a follower step (a notification of a change it has, or
// of a tenant this process holds the lease of — its own commit — is
// ignored); an unknown tenant, or "" (notifications were lost), goes to
// wake for Follow's loop.
func (r *Runtime) notified(id string, seq int64, wake chan<- string) {
	t := r.lookup(id)
	if id == "" || t == nil {
		select {
		case wake <- id:
		default: // the poll finds it
		}
		return
	}
	if h, ok := r.opts.Leases.(holder); ok && h.Holds(id) {
		return // its own commit (nobody else commits under its lease)
	}
	if t.serving.Load() && seq > t.LogSeq() {
		t.poke()
	}
}

// followAll pokes every tenant this process does not hold and adopts the
// tenants the store has that it does not know.
func (r *Runtime) followAll(ctx context.Context) {
	h, _ := r.opts.Leases.(holder)
	r.mu.RLock()
	ts := make([]*Tenant, 0, len(r.tenants))
	for _, t := range r.tenants {
		ts = append(ts, t)
	}
	r.mu.RUnlock()
	for _, t := range ts {
		if h == nil || !h.Holds(t.ID) {
			t.poke()
		}
	}
	listed := time.Now()
	infos, err := r.store.ListTenants(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("listing tenants to follow failed", "err", err)
		}
		return
	}
	for _, info := range infos {
		if t := r.lookup(info.ID); t == nil {
			r.adopt(ctx, info.ID)
		} else {
			t.followInfo(info, listed)
		}
	}
}

// followInfo replaces the tenant's record (company name, domain, …) by
// the store's, listed at listed, when another process changed it (a
// tenant record is written by any process, outside the tenant's log); a
// record this process replaced after listed is newer and kept.
func (t *Tenant) followInfo(info store.Tenant, listed time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.infoSet.After(listed) || sameInfo(t.info, info) {
		return
	}
	t.info = info
	t.rt.log.Info("tenant record changed by another process", "tenant", t.ID)
}

// sameInfo reports whether two tenant records are equal.
func sameInfo(a, b store.Tenant) bool {
	return a.ID == b.ID && a.CompanyName == b.CompanyName && a.Domain == b.Domain &&
		a.DefaultUsageLocation == b.DefaultUsageLocation && bytes.Equal(a.Settings, b.Settings) && a.CreatedAt.Equal(b.CreatedAt)
}

// adopt loads a tenant another process created and serves it (it is
// followed from then on). A tenant this process knows already is left as
// it is.
func (r *Runtime) adopt(ctx context.Context, id string) {
	if r.lookup(id) != nil {
		return
	}
	info, err := r.store.GetTenant(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			r.log.Warn("reading a tenant another process created failed", "tenant", id, "err", err)
		}
		return
	}
	t := r.newTenant(info)
	// Under closeMu: Close either sees the tenant in the map (and closes
	// its commands) or adopt sees the runtime closing.
	r.closeMu.RLock()
	if r.closing {
		r.closeMu.RUnlock()
		return
	}
	r.mu.Lock()
	if r.tenants[info.ID] != nil {
		r.mu.Unlock()
		r.closeMu.RUnlock()
		return
	}
	r.tenants[info.ID] = t // Wait waits for its load
	r.mu.Unlock()
	r.closeMu.RUnlock()
	if err := r.start(r.loadCtx, t); err != nil {
		t.loadErr = err
		close(t.stopped)
		close(t.loaded)
		r.log.Error("a tenant another process created could not be loaded", "tenant", id, "err", err)
		return
	}
	r.follow.adopted.Inc()
	r.log.Info("tenant created by another process loaded", "tenant", id, "seq", t.LogSeq())
}

// register adds a tenant this process created to the runtime, unless a
// follower adopted it first (it was loaded between the store's insert and
// now): then the adopted one is returned, and t's writer is stopped.
func (r *Runtime) register(t *Tenant) *Tenant {
	r.mu.Lock()
	old := r.tenants[t.ID]
	if old == nil {
		r.tenants[t.ID] = t
	}
	r.mu.Unlock()
	if old == nil {
		return t
	}
	close(t.cmds) // not in the map: Close does not close it
	return old
}

// loadObjects is the store's LoadObjectsAt (tuned by opts where the store
// is a store.TunedLoader), or LoadObjects and -1 (no numbered log) for a
// store without one.
func (r *Runtime) loadObjects(ctx context.Context, tenantID string, fn func(store.Object) error, opts store.LoadOptions) (int64, error) {
	if cl, ok := r.store.(store.ChangeLog); ok {
		if tl, ok := r.store.(store.TunedLoader); ok {
			return tl.LoadObjectsTuned(ctx, tenantID, opts, fn)
		}
		return cl.LoadObjectsAt(ctx, tenantID, fn)
	}
	return -1, r.store.LoadObjects(ctx, tenantID, fn)
}
