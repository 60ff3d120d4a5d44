package alert_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"allot/alert"
	"allot/catalog"
	"allot/internal/pgtest"
	"allot/internal/tenantopts"
	"allot/internal/testclock"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// stores returns the backends to run a test on: SQLite, and PostgreSQL (a
// fresh schema) when ALLOT_TEST_POSTGRES is set (required with
// ALLOT_REQUIRE_POSTGRES).
func stores(t *testing.T) map[string]func(t *testing.T) (store.Store, string) {
	m := map[string]func(t *testing.T) (store.Store, string){"sqlite": func(t *testing.T) (store.Store, string) {
		path := filepath.Join(t.TempDir(), "allot.db")
		st, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, path
	}}
	url, ok := pgtest.Enabled(t)
	if !ok {
		return m
	}
	m["postgres"] = func(t *testing.T) (store.Store, string) { return pgtest.Open(t, url) }
	return m
}

// clock is the tests' settable clock.
type clock = testclock.Clock

// env is a runtime with an alert service over a store.
type env struct {
	t   *testing.T
	st  store.Store
	svc *alert.Service
	rt  *tenant.Runtime
	clk *clock
	tn  *tenant.Tenant
	sku string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv opens a runtime over st with a service (not started: the test
// drives it with RunPending and DeliverDue) and a tenant "contoso" with 1
// seat of a product.
func newEnv(t *testing.T, st store.Store, cfg alert.Config) *env {
	clk := testclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	cfg.Store = st.(store.AlertStore)
	cfg.Now = clk.Now
	cfg.Logger = quiet()
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return time.Second }
	}
	svc := alert.New(cfg)
	rt, err := tenant.Open(context.Background(), st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quiet(), Now: clk.Now, AfterCommit: svc.AfterCommit}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	e := &env{t: t, st: st, svc: svc, rt: rt, clk: clk}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	svc.Attach(rt)
	_ = ctx
	sku, _ := catalog.Default().SKU("ENTERPRISEPACK")
	e.sku = sku.ID
	tn, ok := rt.Get("contoso")
	if !ok {
		tn, err = rt.Create(context.Background(), store.Tenant{ID: "contoso", CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
		if err != nil {
			t.Fatal(err)
		}
		e.tn = tn
		e.do(func(tx *tenant.Tx) error {
			if err := tx.Engine.SetUnits(tx.Op, e.sku, licensing.Units{Enabled: 1}); err != nil {
				return err
			}
			if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g1", DisplayName: "Sales", SecurityEnabled: true}); err != nil {
				return err
			}
			return tx.Engine.AssignGroupLicenses(tx.Op, "g1", []licensing.AssignedLicense{{SKUID: e.sku}}, nil)
		})
		for _, u := range []string{"u1", "u2"} {
			e.do(func(tx *tenant.Tx) error {
				return tx.Engine.PutUser(tx.Op, licensing.User{ID: u, UserPrincipalName: u + "@contoso.example", DisplayName: u, AccountEnabled: true, UsageLocation: "US"})
			})
		}
	}
	e.tn = tn
	return e
}

func (e *env) do(fn func(tx *tenant.Tx) error) {
	e.t.Helper()
	e.clk.Add(time.Second)
	if err := e.tn.Do(context.Background(), licensing.Op{Actor: "test", Now: e.clk.Now()}, fn); err != nil {
		e.t.Fatal(err)
	}
}

// settle runs the evaluator and then the queue until nothing is due.
func (e *env) settle() {
	e.t.Helper()
	ctx := context.Background()
	e.svc.RunPending(ctx)
	for range 20 {
		n, err := e.svc.DeliverDue(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// receiver is a webhook receiver that verifies signatures.
type receiver struct {
	mu       sync.Mutex
	secret   string
	fail     int // answer 503 this many more times
	events   []alert.Event
	bad      int // requests whose signature did not verify
	requests int
	srv      *httptest.Server
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{secret: secret}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		if err := alert.Verify(r.secret, req.Header.Get(alert.HeaderTimestamp), req.Header.Get(alert.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			r.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if r.fail > 0 {
			r.fail--
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		var ev alert.Event
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID != req.Header.Get(alert.HeaderEventID) {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		r.events = append(r.events, ev)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []alert.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alert.Event(nil), r.events...)
}

func types(evs []alert.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}
