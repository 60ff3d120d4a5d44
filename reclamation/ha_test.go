package reclamation_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"allot/audit"
	"allot/internal/pgtest"
	"allot/internal/smtptest"
	"allot/internal/tenanttest"
	"allot/internal/testclock"
	"allot/lease"
	"allot/reclamation"
	"allot/store/postgres"
	"allot/tenant"
)

// haNode is one allot process of several on one PostgreSQL database
// (tenanttest.Process: a shared store, its tenant leases, a runtime that
// follows the others' commits) with the alert and reclamation services
// acting for the tenants whose lease it holds.
type haNode struct {
	*env
	proc *tenanttest.Process
}

func newHANode(t *testing.T, url string, clk *clock, mb *mailbox) *haNode {
	n := &haNode{}
	n.proc = tenanttest.StartProcess(t, url, tenanttest.ProcessOptions{Poll: 50 * time.Millisecond,
		Runtime: func(st *postgres.Store, leases *lease.Keeper) *tenant.Runtime {
			n.env = openEnv(t, st, clk, mb, leases)
			return n.rt
		}})
	return n
}

// Two allot processes on one PostgreSQL run a campaign's steps and
// deliver its notices at the same time: only the holder of the tenant's
// lease steps it and delivers its mail, so every notice is sent once; the
// other process takes the campaign over when the holder dies and removes
// each license once.
func TestHAOneProcessStepsACampaign(t *testing.T) {
	url := pgtest.Schema(t)
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC))
	mb := smtptest.New(t, false)
	a := newHANode(t, url, clk, mb)
	a.seed() // a writes the tenant: it holds the lease
	b := newHANode(t, url, clk, mb)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if tn, ok := b.rt.Get("contoso"); ok {
			b.tn = tn
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second process never loaded the tenant")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := a.svc.Create(ctx, a.tn, reclamation.Spec{ID: "q4", DisplayName: "Q4", GraceDays: 7}, "admin A", "tokA"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.StartCampaign(ctx, a.tn, "q4", "admin A"); err != nil {
		t.Fatal(err)
	}
	waitSeq(t, a, b)

	// b does not hold the tenant: its step does nothing, and says nothing
	// is wrong.
	if err := b.svc.Step(ctx); err != nil {
		t.Fatalf("the step of the process without the lease: %v", err)
	}
	if m := b.members("q4"); m["u1"].State != reclamation.MemberPending {
		t.Fatalf("after b's step: %+v", m)
	}
	// a queues the notices; b's delivery leaves them to a.
	if err := a.svc.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := b.alerts.DeliverDue(ctx); err != nil || n != 0 {
		t.Fatalf("b delivered %d jobs (%v) of a tenant it does not hold", n, err)
	}
	// Both step and deliver at once, several times.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for _, n := range []*haNode{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if err := n.svc.Step(ctx); err != nil {
					errs <- err
				}
				if _, err := n.alerts.DeliverDue(ctx); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := len(mb.Got()); got != 4 {
		t.Fatalf("%d notices sent, want 4 (one per member)", got)
	}

	// a dies holding the lease; after the grace period b takes the
	// tenant over once the lease ran out, and removes the licenses.
	a.proc.Kill() // as a kill: its leases are not released, they run out
	clk.Add(8 * 24 * time.Hour)
	deadline = time.Now().Add(15 * time.Second)
	for b.campaign("q4").Status != reclamation.Completed {
		if time.Now().After(deadline) {
			t.Fatalf("b never completed the campaign: %+v", b.campaign("q4"))
		}
		if err := b.svc.Step(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !b.proc.Leases.Holds("contoso") {
		t.Error("b completed the campaign without the tenant's lease")
	}
	c := b.campaign("q4")
	if c.Counts.Removed != 4 {
		t.Fatalf("completed: %+v", c.Counts)
	}
	entries, err := b.st.QueryAudit(ctx, audit.Query{TenantID: "contoso", Activity: reclamation.ActivityReclaim})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Errorf("%d removals audited, want 4 (one per member)", len(entries))
	}
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		if got := len(b.direct(u)); got != 0 {
			t.Errorf("%s still has %d direct licenses", u, got)
		}
	}
	if _, err := b.alerts.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(mb.Got()); got != 4 {
		t.Errorf("%d notices sent after the takeover, want still 4", got)
	}
}

// waitSeq waits until b's copy of the tenant has a's last change.
func waitSeq(t *testing.T, a, b *haNode) {
	t.Helper()
	var want []reclamation.Campaign
	a.tn.Read(func(s *tenant.State) { want, _ = reclamation.Campaigns(s) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []reclamation.Campaign
		b.tn.Read(func(s *tenant.State) { got, _ = reclamation.Campaigns(s) })
		if len(got) == len(want) && (len(got) == 0 || got[0].Status == want[0].Status) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("b's copy never caught up: %+v, want %+v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
