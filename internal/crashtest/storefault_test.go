package crashtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot/api/admin"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	apiserver "allot/api/server"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// faultStore fails every write while failing is set, as a database that
// became read-only (or a disk that filled) under a running server does.
type faultStore struct {
	store.Store
	failing atomic.Bool
}

var errReadOnlyDisk = errors.New("attempt to write a readonly database (SQLITE_READONLY)")

func (f *faultStore) Commit(ctx context.Context, c []store.Change) error {
	if f.failing.Load() {
		return errReadOnlyDisk
	}
	return f.Store.Commit(ctx, c)
}

func (f *faultStore) CommitBulk(ctx context.Context, c store.Change, next func() ([]store.Object, error)) error {
	if f.failing.Load() {
		return errReadOnlyDisk
	}
	return f.Store.CommitBulk(ctx, c, next)
}

func (f *faultStore) CreateTenant(ctx context.Context, t store.Tenant) error {
	if f.failing.Load() {
		return errReadOnlyDisk
	}
	return f.Store.CreateTenant(ctx, t)
}

func (f *faultStore) CreateToken(ctx context.Context, t store.Token) error {
	if f.failing.Load() {
		return errReadOnlyDisk
	}
	return f.Store.CreateToken(ctx, t)
}

// inProcess serves rt over st in this process, as a *server the workload
// can drive.
func inProcess(t *testing.T, st store.Store) (*server, func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	rt, err := tenant.Open(context.Background(), st, catalog.Default(), tenantopts.With(tenant.Options{Logger: log, Registerer: reg}))
	if err != nil {
		t.Fatal(err)
	}
	srv := apiserver.New(rt, st, log, reg)
	for _, m := range []func(*apiserver.Server){partner.Register, admin.Register, cloudlicensing.Register, graph.Register} {
		m(srv)
	}
	hs := httptest.NewServer(srv.Handler())
	exited := make(chan struct{})
	close(exited)
	return &server{t: t, URL: hs.URL, exited: exited}, func() { hs.Close(); rt.Close(context.Background()) }
}

// Writes that fail in the store while the server runs (a database turned
// read-only): none is acknowledged, the server's memory stays equal to the
// store (what it serves is what a fresh load of the store serves), and
// once the fault is gone writes succeed and nothing acknowledged is lost.
func TestStoreWriteFailuresLeaveMemoryEqualToTheStore(t *testing.T) {
	sq, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	fs := &faultStore{Store: sq}
	if _, err := apiserver.Bootstrap(context.Background(), fs, partnerSecret, time.Now()); err != nil {
		t.Fatal(err)
	}
	s, closeServer := inProcess(t, fs)
	w := newWorld(t, s, "Fault")
	var a acks
	w.writeUntil(t, s, &a, 20, "f")

	fs.failing.Store(true)
	acked := a.n.Load()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { w.write(s, &a, 4, "x", stop); close(done) }()
	for a.failed.Load() < 40 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	<-done
	violations := 0
	if got := a.n.Load(); got != acked {
		violations++
		t.Errorf("%d writes were acknowledged while every commit failed", got-acked)
	}
	fs.failing.Store(false)
	w.writeUntil(t, s, &a, 20, "g")
	violations += w.verify(t, s, &a)

	served := w.state(t, s)
	closeServer()
	s2, closeServer2 := inProcess(t, sq)
	defer closeServer2()
	fresh := w.state(t, s2)
	for i := range max(len(served), len(fresh)) {
		var a, b string
		if i < len(served) {
			a = served[i]
		}
		if i < len(fresh) {
			b = fresh[i]
		}
		if a != b {
			violations++
			t.Errorf("the server's memory differs from the store after failed commits:\nserved %s\nstored %s", a, b)
		}
	}
	t.Logf("FIGURES store write failures (read-only database): acknowledged=%d refused=%d violations=%d", a.n.Load(), a.failed.Load(), violations)
}

// state is what the server says about the world's users, groups and seats
// (with times, so that a copy ahead of or behind the store shows).
func (w *world) state(t *testing.T, s *server) []string {
	t.Helper()
	var out []string
	for _, id := range s.list(t, "/v1.0/users?$select=id&$top=999", w.admin) {
		_, body := s.call("GET", "/v1.0/users/"+id+"?$select=id,userPrincipalName,assignedLicenses,licenseAssignmentStates", w.admin, nil)
		out = append(out, string(body))
	}
	for _, g := range []string{w.g, w.h} {
		m := s.list(t, "/v1.0/groups/"+g+"/members?$select=id&$top=999", w.admin)
		sort.Strings(m)
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	_, skus := s.call("GET", "/v1.0/subscribedSkus", w.admin, nil)
	_, al := s.call("GET", "/beta/admin/cloudLicensing/allotments/"+w.allot, w.admin, nil)
	out = append(out, string(skus), string(al))
	for i := range out { // the links name the server's address
		out[i] = strings.ReplaceAll(out[i], s.URL, "")
	}
	sort.Strings(out)
	return out
}
