package tenant

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"allot"
	"allot/store"
)

// The start-up load. Open registers every stored tenant at once (List has
// them, Get does not) and LoadConcurrency workers load them in id order:
// the store has no tenant size to order by without reading the tenant, and
// id order is what ListTenants returns. With two workers a large tenant
// holds one of them while the other goes on through the small ones.
//
// Each tenant's loaded channel is closed when its load ends: serving (Get
// returns it, its writer runs) or failed (loadErr; it answers Wait with
// EUNAVAILABLE and is listed by Failed and /readyz until a restart loads
// it). One tenant's failure never stops the others' loads; only Open
// without Options.Background reports it as Open's error.

// loadProgress is what the start-up load has done, for WaitLoaded and
// EachLoaded.
type loadProgress struct {
	mu      sync.Mutex
	pending int           // tenants whose load has not ended
	done    []*Tenant     // tenants loaded and served, in the order they finished
	failed  []*Tenant     // tenants whose load failed, in the order they failed
	changed chan struct{} // closed and replaced whenever the above change
}

// startLoading registers the stored tenants and starts the workers that
// load them.
func (r *Runtime) startLoading(infos []store.Tenant) {
	queue := make(chan *Tenant, len(infos))
	r.mu.Lock()
	for _, info := range infos {
		t := r.newTenant(info)
		r.tenants[info.ID] = t
		queue <- t
	}
	r.mu.Unlock()
	close(queue)
	r.load.mu.Lock()
	r.load.pending = len(infos)
	r.load.changed = make(chan struct{})
	r.load.mu.Unlock()
	r.metrics.loading.Set(float64(len(infos)))
	if len(infos) == 0 {
		return
	}
	started := time.Now()
	var wg sync.WaitGroup
	for range min(r.opts.LoadConcurrency, len(infos)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range queue {
				r.loadOne(t)
			}
		}()
	}
	go func() {
		wg.Wait()
		if r.loadCtx.Err() == nil {
			r.log.Info("tenants loaded", "count", len(r.load.done), "failed", len(r.load.failed), "seconds", time.Since(started).Seconds())
		}
	}()
}

// loadOne loads one tenant and publishes the outcome.
func (r *Runtime) loadOne(t *Tenant) {
	start := time.Now()
	err := r.loadCtx.Err()
	if err == nil {
		err = r.start(r.loadCtx, t)
	}
	r.load.mu.Lock()
	r.load.pending--
	switch {
	case err == nil:
		r.load.done = append(r.load.done, t)
	default:
		if r.loadCtx.Err() != nil {
			err = ErrClosed
		} else {
			r.log.Error("tenant could not be loaded; the other tenants are served", "tenant", t.ID, "err", err)
		}
		t.loadErr = err
		r.load.failed = append(r.load.failed, t)
		close(t.stopped) // no writer was started
		close(t.loaded)
	}
	close(r.load.changed)
	r.load.changed = make(chan struct{})
	r.metrics.loading.Set(float64(r.load.pending))
	r.metrics.failed.Set(float64(len(r.load.failed)))
	r.load.mu.Unlock()
	if err == nil {
		adopted := false
		t.Read(func(s *State) { adopted = s.adopted })
		// recomputed: the stored license records were derived again
		// rather than adopted (derivation.go).
		r.log.Info("tenant loaded", "tenant", t.ID, "seconds", time.Since(start).Seconds(), "recomputed", !adopted)
	}
}

// Wait returns the tenant once it is loaded and served. It answers at once
// for a served tenant; for one still loading it waits until the load ends
// or ctx does. Errors (*allot.Error):
//   - ENOTFOUND: no such tenant;
//   - EUNAVAILABLE: ctx ended while the tenant was still loading ("still
//     loading … try again"), or its load failed (the message says so; the
//     reason is in the log and in Failed).
func (r *Runtime) Wait(ctx context.Context, id string) (*Tenant, error) {
	t := r.lookup(id)
	if t == nil {
		return nil, allot.Errorf(allot.ENOTFOUND, "Tenant %s does not exist.", id)
	}
	if !t.serving.Load() {
		select {
		case <-t.loaded:
		case <-ctx.Done():
			// A load that ended just now wins over the deadline.
			select {
			case <-t.loaded:
			default:
				return nil, allot.Errorf(allot.EUNAVAILABLE, "Tenant %s is still loading (for %d s, since allot started); try again in a few seconds.",
					t.ID, int(time.Since(t.since).Seconds()))
			}
		}
	}
	if t.loadErr != nil {
		if errors.Is(t.loadErr, ErrClosed) {
			return nil, ErrClosed
		}
		return nil, allot.Errorf(allot.EUNAVAILABLE, "Tenant %s could not be loaded, so it is not served; an administrator must fix it (the reason is in the server's log and /readyz) and restart allot.", t.ID)
	}
	return t, nil
}

// WaitLoaded waits until the start-up load has ended for every tenant, or
// ctx ends (ctx.Err()). It returns the first failed load in id order as
// "loading tenant ID: reason" (errors.Join of them all is in Failed).
func (r *Runtime) WaitLoaded(ctx context.Context) error {
	for {
		r.load.mu.Lock()
		pending, changed := r.load.pending, r.load.changed
		failed := append([]*Tenant(nil), r.load.failed...)
		r.load.mu.Unlock()
		if pending == 0 {
			if len(failed) == 0 {
				return nil
			}
			sort.Slice(failed, func(i, j int) bool { return failed[i].ID < failed[j].ID })
			return fmt.Errorf("loading tenant %s: %w", failed[0].ID, failed[0].loadErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// EachLoaded calls fn with each tenant of the start-up load that is served,
// in the order they finished loading (those loaded already first), as each
// finishes; it returns once every load has ended, or when ctx ends. fn runs
// on the caller's goroutine: loads go on meanwhile. Tenants created later
// are not passed.
func (r *Runtime) EachLoaded(ctx context.Context, fn func(*Tenant)) {
	next := 0
	for {
		r.load.mu.Lock()
		todo := r.load.done[next:len(r.load.done):len(r.load.done)]
		pending, changed := r.load.pending, r.load.changed
		r.load.mu.Unlock()
		for _, t := range todo {
			if ctx.Err() != nil {
				return
			}
			fn(t)
		}
		next += len(todo)
		if len(todo) > 0 {
			continue // more may have finished meanwhile
		}
		if pending == 0 {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// Loading returns the ids of the tenants still loading, sorted.
func (r *Runtime) Loading() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for id, t := range r.tenants {
		select {
		case <-t.loaded:
		default:
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Failed returns the tenants whose load failed, with the reason (the
// runtime's shutdown is not a failure).
func (r *Runtime) Failed() map[string]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := map[string]string{}
	for id, t := range r.tenants {
		select {
		case <-t.loaded:
			if t.loadErr != nil && !errors.Is(t.loadErr, ErrClosed) {
				out[id] = t.loadErr.Error()
			}
		default:
		}
	}
	return out
}
