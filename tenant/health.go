package tenant

import (
	"context"
	"errors"
	"sync"
	"time"

	"allot"
	"allot/store"
)

// Write health: whether commits are succeeding, for readiness (/readyz).
// Every commit reports its outcome; after a failure the runtime is not
// writable until a commit or a probe of the store (store.WriteProber, at
// most every probeEvery) succeeds, so readiness recovers by itself once the
// disk has room again even when no client writes (a load balancer that
// stops sending requests to an unready server would otherwise keep it
// unready for ever).
type writeHealth struct {
	mu     sync.Mutex
	err    error     // the latest failure as clients were told it; nil: writes succeed
	probed time.Time // the latest probe while failing
}

const probeEvery = 5 * time.Second

// noteCommit records a commit's outcome (err as answered to the commands).
func (r *Runtime) noteCommit(err error) {
	r.health.mu.Lock()
	r.health.err = err
	if err == nil {
		r.health.probed = time.Time{} // the next failure is probed at once
	}
	r.health.mu.Unlock()
}

// noteStoreWrite is noteCommit for the runtime's writes outside a tenant's
// commits (creating a tenant, updating its info): a storage fault makes the
// runtime unready and is answered like a failed commit; other errors (a
// conflict) pass through and say nothing of the storage.
func (r *Runtime) noteStoreWrite(err error) error {
	if err == nil || store.FaultOf(err) == nil {
		return err
	}
	answer := commitFailure(err)
	r.noteCommit(answer)
	return answer
}

// Writable returns nil when writes succeed (no commit failed since the last
// success), else the error the latest failed commit was answered with: an
// EUNAVAILABLE or EINTERNAL *allot.Error whose message says why.
func (r *Runtime) Writable(ctx context.Context) error {
	r.health.mu.Lock()
	defer r.health.mu.Unlock()
	if r.health.err == nil {
		return nil
	}
	p, ok := r.store.(store.WriteProber)
	if !ok || time.Since(r.health.probed) < probeEvery {
		return r.health.err
	}
	r.health.probed = time.Now()
	if err := p.ProbeWrite(ctx); err != nil {
		if store.FaultOf(err) != nil {
			r.health.err = commitFailure(err)
		}
		return r.health.err
	}
	r.health.err = nil
	return nil
}

// commitFailure is what the commands of a batch whose commit failed are
// answered: nothing was applied, and whether retrying can help.
func commitFailure(err error) error {
	f := store.FaultOf(err)
	switch {
	case errors.Is(err, store.ErrFenced):
		return allot.Errorf(allot.EUNAVAILABLE, "The change was not saved because another allot process has taken this tenant over; nothing was applied. Try again in a few seconds.")
	case f != nil && errors.Is(f.Class, store.ErrUnavailable):
		return allot.Errorf(allot.EUNAVAILABLE, "The change could not be saved because %s; nothing was applied. Try again in a few seconds.", f.Reason)
	case f != nil:
		return allot.Errorf(allot.EINTERNAL, "The change could not be saved: %s. Nothing was applied, and retrying will not help until an administrator fixes the database's storage.", f.Reason)
	}
	return allot.Errorf(allot.EINTERNAL, "The change could not be saved; nothing was applied.")
}
