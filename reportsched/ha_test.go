package reportsched_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"allot/alert"
	"allot/internal/pgtest"
	"allot/internal/smtptest"
	"allot/internal/tenanttest"
	"allot/licensing"
	"allot/reportsched"
	"allot/store"
	"allot/tenant"
)

// haNode is one allot serve --ha process (tenanttest.Process) with an
// alert service and a report runner that act for the tenants whose lease
// it holds, as allot serve wires them. Their loops are not started: the
// test runs RunOnce and DeliverDue itself.
type haNode struct {
	*tenanttest.Process
	svc    *alert.Service
	runner *reportsched.Runner
}

func newHANode(t *testing.T, url string, mb *smtptest.Mailbox, now func() time.Time) *haNode {
	p := tenanttest.StartProcess(t, url, tenanttest.ProcessOptions{Poll: 50 * time.Millisecond})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := alert.New(alert.Config{Store: p.Store, Now: now, Logger: log, Acts: p.Leases.Acts,
		SMTP: &alert.SMTP{Host: mb.Host, Port: mb.Port, From: "allot@contoso.example", TLS: "none"}})
	r := &reportsched.Runner{Alerts: svc, Now: now, Log: log, Acts: p.Leases.Acts}
	r.Register()
	svc.Attach(p.RT)
	return &haNode{Process: p, svc: svc, runner: r}
}

// With several processes on one PostgreSQL, a scheduled report is
// rendered, queued and mailed by the process that holds its tenant's
// lease only, once per slot: another process's runner leaves the tenant
// alone (and does not take its lease), and after the holder dies the
// process that takes the tenant over does not mail the slot again; it
// mails the next one.
func TestHAScheduledReportByTheLeaseHolderOnly(t *testing.T) {
	url := pgtest.Schema(t)
	ctx := context.Background()
	mb := smtptest.New(t, false)
	var mu sync.Mutex
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return at
	}
	advance := func(d time.Duration) {
		mu.Lock()
		at = at.Add(d)
		mu.Unlock()
	}
	a := newHANode(t, url, mb, now)
	tn, err := a.RT.Create(ctx, store.Tenant{ID: "contoso", CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: now()}, func(tx *tenant.Tx) error {
		return reportsched.Put(tx, reportsched.Schedule{ID: "daily", Report: "position", Format: "csv", Frequency: "daily", At: "10:00",
			To: []string{"cfo@contoso.example"}})
	}); err != nil {
		t.Fatal(err)
	}
	b := newHANode(t, url, mb, now)
	waitForSchedule(t, b)
	jobs := func() int {
		t.Helper()
		l, err := b.Store.AlertJobs(ctx, "contoso", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	deliver := func(n *haNode) int {
		t.Helper()
		k, err := n.svc.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}

	advance(time.Hour) // 10:00: the first slot
	b.runner.RunOnce(ctx, b.RT)
	if n := jobs(); n != 0 {
		t.Fatalf("the process without the lease queued %d reports", n)
	}
	if b.Leases.Holds("contoso") || !a.Leases.Holds("contoso") {
		t.Fatalf("b's runner moved the lease: a holds %v, b %v", a.Leases.Holds("contoso"), b.Leases.Holds("contoso"))
	}
	a.runner.RunOnce(ctx, a.RT)
	b.runner.RunOnce(ctx, b.RT)
	if n := jobs(); n != 1 {
		t.Fatalf("%d reports queued for the slot, want 1 (the lease holder's)", n)
	}
	if k := deliver(b); k != 0 {
		t.Fatalf("the process without the lease attempted %d deliveries", k)
	}
	if k := deliver(a); k != 1 || len(mb.Got()) != 1 {
		t.Fatalf("the lease holder attempted %d deliveries, %d mails sent; want 1", k, len(mb.Got()))
	}

	// a dies; b takes the tenant over at its next check (nobody holds the
	// lease once a's has run out) and does not mail the slot again.
	a.Kill()
	deadline := time.Now().Add(15 * time.Second)
	for !b.Leases.Holds("contoso") {
		if time.Now().After(deadline) {
			t.Fatal("b never took the tenant over")
		}
		b.runner.RunOnce(ctx, b.RT)
		time.Sleep(100 * time.Millisecond)
	}
	b.runner.RunOnce(ctx, b.RT)
	deliver(b)
	if n, m := jobs(), len(mb.Got()); n != 1 || m != 1 {
		t.Fatalf("after the takeover: %d reports queued, %d mails; the slot was mailed once already", n, m)
	}
	advance(24 * time.Hour) // the next slot: b's
	b.runner.RunOnce(ctx, b.RT)
	if k := deliver(b); k != 1 || jobs() != 2 || len(mb.Got()) != 2 {
		t.Fatalf("the next slot: %d attempted, %d queued, %d mails; want the new holder's one", k, jobs(), len(mb.Got()))
	}
}

// waitForSchedule waits until the process has loaded the tenant with its
// schedule (its follower reads the commits of the other).
func waitForSchedule(t *testing.T, n *haNode) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if tn, ok := n.RT.Get("contoso"); ok {
			var k int
			tn.Read(func(st *tenant.State) { k = len(st.IDs(reportsched.Kind)) })
			if k == 1 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the second process never loaded the tenant with its schedule")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
