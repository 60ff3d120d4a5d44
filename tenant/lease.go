package tenant

import (
	"context"
	"errors"
	"time"

	"allot"
	"allot/store"
)

// Leases gate a tenant's writes when several processes share the store
// (store.Leaser; package lease implements it). Each tenant is written by
// the process holding its lease, under the lease's fencing token, which
// every commit carries (store.Change.Fence).
type Leases interface {
	// Token returns the fencing token under which this process may write
	// the tenant now, or the error its commands are answered with (another
	// process holds the lease: an EUNAVAILABLE error naming it).
	Token(ctx context.Context, tenantID string) (int64, error)
	// Fenced reports a commit the store refused with store.ErrFenced.
	Fenced(tenantID string, err error)
}

// lease runs before each batch (and deletion) of a tenant whose runtime has
// Leases: it gets the token this process may write the tenant under, and
// if the token is not the one the tenant's copies are current under (the
// lease is new, or was lost and taken again), another process may have
// written the tenant meanwhile, so both copies are read from the store
// again first. A snapshot command is not gated: it reads.
func (t *Tenant) lease(c *command) error {
	ls := t.rt.opts.Leases
	if ls == nil || c.snap {
		return nil
	}
	tok, err := ls.Token(context.Background(), t.ID)
	if err != nil {
		return err
	}
	if tok == t.fence {
		return nil
	}
	if err := t.takeOver(tok); err != nil { // catch up from the log, or refresh: follow.go
		t.rt.log.Error("reading the tenant again under its new lease failed", "tenant", t.ID, "err", err)
		return allot.Errorf(allot.EUNAVAILABLE, "Tenant %s could not be read from the database; nothing was applied. Try again in a few seconds.", t.ID)
	}
	return nil
}

// refresh replaces the tenant's state by the store's, read
// under token fence, and makes fence the token the copies are current
// under. On error nothing changes (the copies stay, under the old token).
// Writer goroutine only.
func (t *Tenant) refresh(fence int64) error {
	start := time.Now()
	st, seq, problems, err := t.rt.loadStateFenced(context.Background(), t.ID, t.rt.now(), fence)
	if err != nil {
		return err
	}
	// The state read is the readers' copy; the writer's is made from it
	// by the batch that follows (catchUp).
	st.buildIndexes()
	t.mu.Lock()
	old := t.reader
	st.commit = old.commit + 1
	t.reader = st
	t.mu.Unlock()
	old.dropIndexes()
	t.writer, t.seq, t.fence, t.behind = nil, seq, fence, true
	t.setProblems(problems)
	t.rt.log.Info("tenant read again under a new lease", "tenant", t.ID, "token", fence, "seconds", time.Since(start).Seconds())
	return nil
}

// deleteStored deletes the tenant from the store, under its lease when
// the runtime has Leases (a deletion refused for a stale token is answered
// like a fenced commit).
func (t *Tenant) deleteStored() error {
	ctx := context.Background()
	if t.rt.opts.Leases == nil {
		return t.rt.store.DeleteTenant(ctx, t.ID)
	}
	l, ok := t.rt.store.(store.Leaser)
	if !ok {
		return allot.Errorf(allot.EINTERNAL, "The store does not support tenant leases.")
	}
	err := l.DeleteTenantFenced(ctx, t.ID, t.fence)
	if t.fenced(err) {
		return commitFailure(err)
	}
	return err
}

// fenced reports whether a failed commit was refused for a stale fencing
// token, and if so tells the leases and forgets the token, so that the
// tenant is read again before this process writes it next.
func (t *Tenant) fenced(err error) bool {
	ls := t.rt.opts.Leases
	if ls == nil || !errors.Is(err, store.ErrFenced) {
		return false
	}
	ls.Fenced(t.ID, err)
	t.fence = 0
	return true
}
