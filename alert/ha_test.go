package alert

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/pgtest"
	"allot/internal/tenantopts"
	"allot/internal/tenanttest"
	"allot/lease"
	"allot/licensing"
	"allot/store"
	"allot/store/postgres"
	"allot/tenant"
)

// haNode is one allot serve --ha process (tenanttest.Process) with an
// alert service acting for the tenants whose lease it holds. Its loops
// are not started: the test runs startUp and RunPending itself.
type haNode struct {
	*tenanttest.Process
	svc *Service
}

func newHANode(t *testing.T, url string, now func() time.Time) *haNode {
	n := &haNode{}
	n.Process = tenanttest.StartProcess(t, url, tenanttest.ProcessOptions{Poll: 50 * time.Millisecond,
		Runtime: func(st *postgres.Store, keeper *lease.Keeper) *tenant.Runtime {
			n.svc = New(Config{Store: st, Now: now, Logger: discard(), Acts: keeper.Acts})
			rt, err := tenant.Open(context.Background(), st, catalog.Default(), tenantopts.With(tenant.Options{Logger: discard(), Now: now,
				Leases: keeper, AfterCommit: n.svc.AfterCommit}))
			if err != nil {
				t.Fatal(err)
			}
			return rt
		}})
	n.svc.mu.Lock()
	n.svc.rt = n.RT
	n.svc.mu.Unlock()
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
	url := pgtest.Schema(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	a := newHANode(t, url, now)
	sku, _ := catalog.Default().SKU("ENTERPRISEPACK")
	tnA, err := a.RT.Create(ctx, store.Tenant{ID: "contoso", CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
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
		if tnB, ok = b.RT.Get("contoso"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second process never loaded the tenant")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stored := func() (states []store.AlertState, jobs []store.AlertJob) {
		t.Helper()
		if states, err = b.Store.AlertStates(ctx, "contoso"); err != nil {
			t.Fatal(err)
		}
		if jobs, err = b.Store.AlertJobs(ctx, "contoso", "", 10); err != nil {
			t.Fatal(err)
		}
		return states, jobs
	}

	// b starts up: the tenant is a's.
	b.svc.startUp(ctx, b.RT)
	b.svc.RunPending(ctx)
	if states, jobs := stored(); len(states) != 0 || len(jobs) != 0 {
		t.Fatalf("the process without the lease evaluated the tenant: %+v, %d jobs", states, len(jobs))
	}
	if b.Leases.Holds("contoso") || !a.Leases.Holds("contoso") {
		t.Fatalf("b's start-up moved the lease: a holds %v, b %v", a.Leases.Holds("contoso"), b.Leases.Holds("contoso"))
	}
	// a starts up: it evaluates the tenant, the alert opens.
	a.svc.startUp(ctx, a.RT)
	a.svc.RunPending(ctx)
	states, jobs := stored()
	if len(states) != 1 || !states[0].Open || len(jobs) != 1 {
		t.Fatalf("the lease holder's start-up: %+v, %d jobs; want one open alert and its notification", states, len(jobs))
	}

	// a fixes the error and dies before evaluating it; b takes the tenant
	// over with a change that touches no license.
	at = at.Add(time.Minute)
	a.do(t, tnA, at, func(tx *tenant.Tx) error { return tx.Engine.SetUnits(tx.Op, sku.ID, licensing.Units{Enabled: 2}) })
	a.Kill()
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
