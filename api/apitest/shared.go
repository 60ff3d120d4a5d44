package apitest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot/api/server"
	"allot/internal/tenanttest"
	"allot/store/postgres"
)

// SharedOptions are a cluster process's (ServeShared).
type SharedOptions struct {
	// Process are its store's, leases' and runtime's; Owner is set to the
	// process and its address.
	Process tenanttest.ProcessOptions
	// ReadWait is how long a read that asks for a newer commit than its
	// copy has waits (server.Cluster.ReadWait).
	ReadWait time.Duration
	// Enter: the admin center's forms enter a tenant through the leases
	// (server.Cluster.Enter).
	Enter bool
}

// Shared is one process of a cluster test: Env serves it, Process is its
// store, leases and following runtime.
type Shared struct {
	*Env
	Process *tenanttest.Process
}

// ServeShared starts one allot process of a cluster on the PostgreSQL
// database at url (a pgtest schema), as allot serve --ha runs: a shared
// store, its leases and a runtime that follows the others'
// (tenanttest.StartProcess), the partner administrator bootstrapped, and a
// server that forwards writes to the tenant's owner (server.Cluster) with
// the surfaces mounted. The test's end stops it; Kill stops it as a kill
// does.
func ServeShared(t testing.TB, url string, o SharedOptions, mounts ...Mount) *Shared {
	t.Helper()
	ctx := context.Background()
	hs := httptest.NewUnstartedServer(nil)
	o.Process.Owner = postgres.ProcessIdentity() + " at " + hs.Listener.Addr().String()
	if o.Process.Logger == nil {
		o.Process.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := tenanttest.StartProcess(t, url, o.Process)
	if _, err := server.Bootstrap(ctx, p.Store, PartnerToken, time.Now()); err != nil {
		t.Fatal(err)
	}
	s := server.New(p.RT, p.Store, o.Process.Logger, prometheus.NewRegistry())
	s.Cluster = &server.Cluster{Leases: p.Store, Holds: p.Leases.Holds, ReadWait: o.ReadWait}
	if o.Enter {
		s.Cluster.Enter = p.Leases.Enter
	}
	for _, m := range mounts {
		m(s)
	}
	hs.Config.Handler = s.Handler()
	hs.Start()
	t.Cleanup(hs.Close)
	return &Shared{Env: &Env{T: t, URL: hs.URL, Store: p.Store, RT: p.RT, Server: s, HTTP: hs}, Process: p}
}

// Kill stops the process as a killed one stops: nothing listens any more,
// and its leases are not released (tenanttest.Process.Kill).
func (s *Shared) Kill() {
	s.HTTP.Close()
	s.Process.Kill()
}
