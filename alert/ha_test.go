package alert

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/lease"
	"allot/licensing"
	"allot/store"
	"allot/store/postgres"
	"allot/tenant"
)

// haURL is a PostgreSQL schema of the test's own (skipped without
// ALLOT_TEST_POSTGRES).
func haURL(t *testing.T) string {
	url := os.Getenv("ALLOT_TEST_POSTGRES")
	if url == "" {
		t.Skip("ALLOT_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("alert_ha_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(ctx)
	})
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// haNode is one allot serve --ha process: a shared PostgreSQL store, its
// tenant leases, a runtime following the others' commits, and an alert
// service acting for the tenants whose lease it holds. Its loops are not
// started: the test runs startUp and RunPending itself.
type haNode struct {
	st     *postgres.Store
	keeper *lease.Keeper
	rt     *tenant.Runtime
	svc    *Service
	stop   func()
}

func newHANode(t *testing.T, url string, now func() time.Time) *haNode {
	ctx := context.Background()
	st, err := postgres.OpenShared(ctx, url, postgres.SharedOptions{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n := &haNode{st: st, keeper: lease.New(st, lease.Options{Logger: discard()})}
	n.svc = New(Config{Store: st, Now: now, Logger: discard(), Acts: n.keeper.Acts})
	n.rt, err = tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: discard(), Now: now,
		Leases: n.keeper, AfterCommit: n.svc.AfterCommit}))
	if err != nil {
		t.Fatal(err)
	}
	n.svc.mu.Lock()
	n.svc.rt = n.rt
	n.svc.mu.Unlock()
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.rt.Follow(fctx, tenant.FollowOptions{Poll: 50 * time.Millisecond})
	}()
	var once sync.Once
	// stop ends the process as a kill does: its leases run out.
	n.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			n.rt.Close(ctx)
			st.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

func (n *haNode) do(t *testing.T, tn *tenant.Tenant, now time.Time, fn func(tx *tenant.Tx) error) {
	t.Helper()
	if err := tn.Do(context.Background(), licensing.Op{Actor: "test", Now: now}, fn); err != nil {
		t.Fatal(err)
	}
}

// With several processes on one PostgreSQL, a tenant is evaluated at
// start-up only by the process that holds its lease: another one neither
// evaluates it nor takes its lease. When that process takes the tenant
// over, its first commit evaluates the tenant in full: a change the dead
// holder committed but never evaluated is seen.
func TestHAStartUpEvaluationByTheLeaseHolder(t *testing.T) {
	url := haURL(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	a := newHANode(t, url, now)
	sku, _ := catalog.Default().SKU("ENTERPRISEPACK")
	tnA, err := a.rt.Create(ctx, store.Tenant{ID: "contoso", CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	// One seat, two members of a licensed group: one license error.
	a.do(t, tnA, at, func(tx *tenant.Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, sku.ID, licensing.Units{Enabled: 1}); err != nil {
			return err
		}
		for _, u := range []string{"u1", "u2"} {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: u, UserPrincipalName: u + "@contoso.example", DisplayName: u, AccountEnabled: true, UsageLocation: "US"}); err != nil {
				return err
			}
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g1", DisplayName: "Sales", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "g1", []licensing.AssignedLicense{{SKUID: sku.ID}}, nil); err != nil {
			return err
		}
		if err := tx.Engine.AddMembers(tx.Op, "g1", []string{"u1", "u2"}); err != nil {
			return err
		}
		if err := PutEndpoint(tx, Endpoint{ID: "hook", Type: Webhook, URL: "http://127.0.0.1:1/", Secret: "s"}); err != nil {
			return err
		}
		return PutRule(tx, Rule{ID: "errors", Condition: LicenseErrors, Endpoints: []string{"hook"}})
	})
	b := newHANode(t, url, now)
	deadline := time.Now().Add(10 * time.Second)
	var tnB *tenant.Tenant
	for {
		var ok bool
		if tnB, ok = b.rt.Get("contoso"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second process never loaded the tenant")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stored := func() (states []store.AlertState, jobs []store.AlertJob) {
		t.Helper()
		if states, err = b.st.AlertStates(ctx, "contoso"); err != nil {
			t.Fatal(err)
		}
		if jobs, err = b.st.AlertJobs(ctx, "contoso", "", 10); err != nil {
			t.Fatal(err)
		}
		return states, jobs
	}

	// b starts up: the tenant is a's.
	b.svc.startUp(ctx, b.rt)
	b.svc.RunPending(ctx)
	if states, jobs := stored(); len(states) != 0 || len(jobs) != 0 {
		t.Fatalf("the process without the lease evaluated the tenant: %+v, %d jobs", states, len(jobs))
	}
	if b.keeper.Holds("contoso") || !a.keeper.Holds("contoso") {
		t.Fatalf("b's start-up moved the lease: a holds %v, b %v", a.keeper.Holds("contoso"), b.keeper.Holds("contoso"))
	}
	// a starts up: it evaluates the tenant, the alert opens.
	a.svc.startUp(ctx, a.rt)
	a.svc.RunPending(ctx)
	states, jobs := stored()
	if len(states) != 1 || !states[0].Open || len(jobs) != 1 {
		t.Fatalf("the lease holder's start-up: %+v, %d jobs; want one open alert and its notification", states, len(jobs))
	}

	// a fixes the error and dies before evaluating it; b takes the tenant
	// over with a change that touches no license.
	at = at.Add(time.Minute)
	a.do(t, tnA, at, func(tx *tenant.Tx) error { return tx.Engine.SetUnits(tx.Op, sku.ID, licensing.Units{Enabled: 2}) })
	a.stop()
	deadline = time.Now().Add(15 * time.Second)
	for {
		err := tnB.Do(ctx, licensing.Op{Actor: "test", Now: at}, func(tx *tenant.Tx) error {
			return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u1", UserPrincipalName: "u1@contoso.example", DisplayName: "User One", AccountEnabled: true, UsageLocation: "US"})
		})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b never took the tenant over: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.svc.RunPending(ctx)
	states, jobs = stored()
	if len(states) != 1 || states[0].Open || len(jobs) != 2 {
		t.Fatalf("after the takeover: %+v, %d jobs; want the alert resolved by b's full evaluation and its notification", states, len(jobs))
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
