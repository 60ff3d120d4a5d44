package tenanttest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/lease"
	"allot/store/postgres"
	"allot/tenant"
)

// Process is one allot process of several that share one PostgreSQL
// database, as allot serve --ha runs them: a shared store, its tenant
// leases, and a runtime that follows the commits of the tenants other
// processes write. Tests start two or more on one schema
// (pgtest.Schema) and stop one as a kill does (Kill).
type Process struct {
	Store  *postgres.Store
	Leases *lease.Keeper
	RT     *tenant.Runtime

	stopFollowing func()
	kill          func()
	killed        bool
}

// ProcessOptions are a Process's; the zero value is a process with a
// lease TTL of 1 s and a follower polling every 100 ms.
type ProcessOptions struct {
	// TTL is its leases' time to live (postgres.SharedOptions.TTL).
	TTL time.Duration
	// Owner names the process in the owner lease (default
	// postgres.ProcessIdentity()).
	Owner string
	// Poll is how often its follower reads the change log.
	Poll time.Duration
	// NoFollow: no follower loop (no notifications, no poll): its copies
	// catch up only when a read waits for a number (Tenant.WaitSeq).
	NoFollow bool
	// Logger is its runtime's and its leases' (default: discarded).
	Logger *slog.Logger
	// Runtime opens its runtime over the shared store with its leases
	// (default: tenant.Open with Microsoft's catalog, Logger, the leases
	// and tenantopts); a test whose runtime needs services attached opens
	// it here. The runtime is closed with the process.
	Runtime func(st *postgres.Store, leases *lease.Keeper) *tenant.Runtime
}

// StartProcess starts a process on the database at url (a pgtest schema).
// The test's end stops it in order: its follower, runtime, leases
// (released) and store; a killed process's leases are not released.
func StartProcess(t testing.TB, url string, o ProcessOptions) *Process {
	t.Helper()
	ctx := context.Background()
	if o.TTL == 0 {
		o.TTL = time.Second
	}
	if o.Poll == 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st, err := postgres.OpenShared(ctx, url, postgres.SharedOptions{TTL: o.TTL, Owner: o.Owner})
	if err != nil {
		t.Fatal(err)
	}
	keeper := lease.New(st, lease.Options{Logger: o.Logger})
	var rt *tenant.Runtime
	if o.Runtime != nil {
		rt = o.Runtime(st, keeper)
	} else if rt, err = tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: o.Logger, Leases: keeper})); err != nil {
		st.Close()
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !o.NoFollow {
			rt.Follow(fctx, tenant.FollowOptions{Poll: o.Poll})
		}
	}()
	p := &Process{Store: st, Leases: keeper, RT: rt}
	p.stopFollowing = sync.OnceFunc(func() {
		cancel()
		<-done
	})
	p.kill = sync.OnceFunc(func() {
		p.stopFollowing()
		st.Close() // renewals fail from now on
		rt.Close(ctx)
	})
	t.Cleanup(func() {
		if p.killed {
			return
		}
		p.stopFollowing()
		rt.Close(ctx)
		keeper.Close(ctx)
		st.Close()
	})
	return p
}

// StopFollowing ends the process's follower loop: its copies then move
// only when a request waits for them (Tenant.WaitSeq). Calling it again
// does nothing.
func (p *Process) StopFollowing() { p.stopFollowing() }

// Kill stops the process as a killed one stops: its follower and runtime
// end and its store is closed, but its leases are not released (they run
// out after the TTL). Calling it again does nothing.
func (p *Process) Kill() {
	p.killed = true
	p.kill()
}
