package server_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"allot/api/apitest"
	"allot/api/partner"
	"allot/store"
	"allot/store/sqlite"
)

// faultyStore fails every Commit and ProbeWrite with fault while it is set.
type faultyStore struct {
	*sqlite.Store
	mu    sync.Mutex
	fault error
}

func (f *faultyStore) set(err error) { f.mu.Lock(); f.fault = err; f.mu.Unlock() }
func (f *faultyStore) get() error    { f.mu.Lock(); defer f.mu.Unlock(); return f.fault }

func (f *faultyStore) Commit(ctx context.Context, cs []store.Change) error {
	if err := f.get(); err != nil {
		return err
	}
	return f.Store.Commit(ctx, cs)
}

func (f *faultyStore) ProbeWrite(ctx context.Context) error {
	if err := f.get(); err != nil {
		return err
	}
	return f.Store.ProbeWrite(ctx)
}

// /readyz answers 503 with the reason while writes fail (it stayed 200 on a
// full disk or a read-only database), and clients are told whether
// retrying can help: a permanent condition is a 500 that says so, a
// transient one a 503 with Retry-After. Readiness comes back once a write
// or a probe of the store succeeds.
func TestReadyzReportsFailingWrites(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fs := &faultyStore{Store: st}
	e := apitest.Serve(t, fs, apitest.Options{}, partner.Register)

	id := e.Customer("Contoso", "US")
	e.Must(200, "GET", "/readyz", "", nil)
	subscribe := func() apitest.Response {
		return e.Call("POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "SPE_E3", "quantity": 5})
	}

	fs.set(&store.Fault{Class: store.ErrUnwritable, Reason: "the disk holding the database is full", Err: errors.New("database or disk is full")})
	r := subscribe()
	if r.Status != 500 || !strings.Contains(r.ErrorMessage(), "disk holding the database is full") ||
		!strings.Contains(r.ErrorMessage(), "retrying will not help") || strings.Contains(r.ErrorMessage(), "Try again") {
		t.Fatalf("write on a full disk: %d %s", r.Status, r.Body)
	}
	r = e.Call("GET", "/readyz", "", nil)
	if r.Status != 503 || !strings.Contains(r.ErrorMessage(), "disk holding the database is full") {
		t.Fatalf("readyz while writes fail: %d %s", r.Status, r.Body)
	}
	fs.set(nil)
	e.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "SPE_E3", "quantity": 5})
	e.Must(200, "GET", "/readyz", "", nil)

	fs.set(&store.Fault{Class: store.ErrUnavailable, Reason: "the database is locked by another process", Err: errors.New("database is locked")})
	r = subscribe()
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || !strings.Contains(r.ErrorMessage(), "Try again") {
		t.Fatalf("write on a locked database: %d %v %s", r.Status, r.Header, r.Body)
	}
	// No client writes: the probe finds that writes work again.
	fs.set(nil)
	e.Must(200, "GET", "/readyz", "", nil)
}

// /readyz stays 503 while the operating system refuses every write to the
// database files (chattr +i on the database, its log and shared memory):
// the probe it runs must fail like the commits do. It used to rewrite a row
// with its own bytes, which SQLite commits without writing, so the first
// probe "succeeded" and /readyz answered 200 while every write failed.
func TestReadyzStaysUnreadyWhileTheDatabaseFilesAreImmutable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := apitest.Serve(t, st, apitest.Options{}, partner.Register)
	// Not the -shm file: SQLite maps it, and a write fault on an immutable
	// mapping is a SIGBUS, not an error.
	files := []string{path, path + "-wal"}
	chattr := func(flag string) error {
		out, err := exec.Command("chattr", append([]string{flag}, files...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("chattr %s: %v: %s", flag, err, out)
		}
		return nil
	}
	t.Cleanup(func() { _ = chattr("-i"); e.Stop() })

	id := e.Customer("Contoso", "US")
	e.Must(200, "GET", "/readyz", "", nil)
	if err := chattr("+i"); err != nil {
		t.Skipf("cannot make the files immutable here (needs root and a file system with attributes): %v", err)
	}
	// Creating a tenant writes outside any tenant's commits: it too is
	// answered with the storage fault and makes the server unready.
	r := e.Call("POST", "/partner/v1/customers", apitest.PartnerToken, map[string]any{
		"companyProfile": map[string]any{"companyName": "Fabrikam", "domain": "fabrikam.example"}, "defaultUsageLocation": "US"})
	if r.Status != 500 || !strings.Contains(string(r.Body), "administrator") {
		t.Fatalf("creating a customer on an immutable database: %d %s", r.Status, r.Body)
	}
	if r := e.Call("GET", "/readyz", "", nil); r.Status != 503 {
		t.Fatalf("readyz after a failed tenant creation: %d %s", r.Status, r.Body)
	}
	r = e.Call("POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "SPE_E3", "quantity": 5})
	if r.Status != 500 {
		t.Fatalf("write to an immutable database: %d %s", r.Status, r.Body)
	}
	for i := 0; i < 2; i++ { // the first /readyz after the failure probes at once
		if r := e.Call("GET", "/readyz", "", nil); r.Status != 503 {
			t.Fatalf("readyz %d while every write fails: %d %s", i, r.Status, r.Body)
		}
	}
	if err := chattr("-i"); err != nil {
		t.Fatal(err)
	}
	e.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "SPE_E3", "quantity": 5})
	e.Must(200, "GET", "/readyz", "", nil)
}
