package alert_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"allot/alert"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/storetest"
	"allot/subscription"
	"allot/tenant"
)

func putRuleAndEndpoint(e *env, url, secret string, r alert.Rule) {
	e.t.Helper()
	e.do(func(tx *tenant.Tx) error {
		if err := alert.PutEndpoint(tx, alert.Endpoint{ID: "hook", Type: alert.Webhook, URL: url, Secret: secret}); err != nil {
			return err
		}
		r.Endpoints = []string{"hook"}
		return alert.PutRule(tx, r)
	})
}

// An error appears: exactly one alert is delivered; it clears: the
// resolution is delivered. Both stores.
func TestErrorOpensAndResolves(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st, _ := open(t)
			e := newEnv(t, st, alert.Config{})
			rcv := newReceiver(t, "s3cret")
			putRuleAndEndpoint(e, rcv.srv.URL, "s3cret", alert.Rule{ID: "errors", DisplayName: "License errors", Condition: alert.LicenseErrors,
				Errors: []string{"CountViolation"}})
			e.settle()
			if got := rcv.got(); len(got) != 0 {
				t.Fatalf("no error yet, got %v", types(got))
			}
			e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1"}) })
			e.settle()
			if got := rcv.got(); len(got) != 0 {
				t.Fatalf("u1 holds the one seat: no error, got %v", types(got))
			}
			e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u2"}) })
			e.settle()
			// Another commit while it holds: still one alert.
			e.do(func(tx *tenant.Tx) error {
				return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u3", UserPrincipalName: "u3@contoso.example", UsageLocation: "US", AccountEnabled: true})
			})
			e.settle()
			got := rcv.got()
			if !slices.Equal(types(got), []string{alert.Opened}) {
				t.Fatalf("after the error: %v, want one %s", types(got), alert.Opened)
			}
			if got[0].RuleID != "errors" || got[0].Subject != "tenant" || got[0].Summary != "1 license assignments in the tenant are in error (CountViolation)." {
				t.Errorf("event: %+v", got[0])
			}
			e.do(func(tx *tenant.Tx) error { return tx.Engine.RemoveMembers(tx.Op, "g1", []string{"u2"}) })
			e.settle()
			got = rcv.got()
			if !slices.Equal(types(got), []string{alert.Opened, alert.Resolved}) {
				t.Fatalf("after the fix: %v", types(got))
			}
			if got[1].ResolvedAt == nil || got[1].OpenedAt == nil || !got[1].OpenedAt.Equal(*got[0].OpenedAt) {
				t.Errorf("resolved event: %+v", got[1])
			}
			states, err := st.(store.AlertStore).AlertStates(context.Background(), "contoso")
			if err != nil || len(states) != 1 || states[0].Open {
				t.Fatalf("states %+v, %v", states, err)
			}
			if rcv.bad != 0 {
				t.Errorf("%d requests had a bad signature", rcv.bad)
			}
		})
	}
}

// A receiver that fails 3 times: the job is retried with backoff, then
// delivered once; the delivery log has the 4 attempts.
func TestRetriedThenDelivered(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st, _ := open(t)
			var waits []time.Duration
			e := newEnv(t, st, alert.Config{Backoff: func(n int) time.Duration {
				d := time.Minute << (n - 1)
				waits = append(waits, d)
				return d
			}})
			rcv := newReceiver(t, "k")
			rcv.fail = 3
			putRuleAndEndpoint(e, rcv.srv.URL, "k", alert.Rule{ID: "full", Condition: alert.FreeSeatsLow, Threshold: 1})
			e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1"}) })
			e.settle() // first attempt fails
			for i := 0; i < 3; i++ {
				e.settle() // not due yet
				e.clk.Add(time.Minute << i)
				e.settle()
			}
			got := rcv.got()
			if !slices.Equal(types(got), []string{alert.Opened}) || rcv.requests != 4 {
				t.Fatalf("events %v after %d requests", types(got), rcv.requests)
			}
			if !slices.Equal(waits, []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute}) {
				t.Errorf("backoff waits %v", waits)
			}
			log, err := st.(store.AlertStore).AlertAttempts(context.Background(), "contoso", "hook", 10)
			if err != nil || len(log) != 4 || !log[0].OK || log[1].OK || log[1].Status != 503 {
				t.Fatalf("log %+v, %v", log, err)
			}
		})
	}
}

// A receiver that always fails: after MaxAttempts the job is dead, and a
// retry delivers it.
func TestDeadLetterAndRetry(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{MaxAttempts: 2})
	rcv := newReceiver(t, "k")
	rcv.fail = 2
	putRuleAndEndpoint(e, rcv.srv.URL, "k", alert.Rule{ID: "full", Condition: alert.FreeSeatsLow, Threshold: 2})
	e.settle()
	e.clk.Add(time.Minute)
	e.settle()
	dead, err := st.(store.AlertStore).AlertJobs(context.Background(), "contoso", store.JobDead, 10)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 2 {
		t.Fatalf("dead %+v, %v", dead, err)
	}
	if err := e.svc.Retry(context.Background(), "contoso", dead[0].ID); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if got := rcv.got(); len(got) != 1 {
		t.Fatalf("after retry: %v", types(got))
	}
	if err := e.svc.Retry(context.Background(), "contoso", dead[0].ID); err == nil {
		t.Error("a delivered job was queued again")
	}
}

// A signature made with another secret, a changed body or an old
// timestamp is detected.
func TestVerifyDetectsBadSignatures(t *testing.T) {
	body := []byte(`{"id":"1","type":"test"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := now.Unix()
	good := alert.Sign("secret", ts, body)
	if err := alert.Verify("secret", "1800000000", good, body, now, time.Minute); err != nil {
		t.Fatalf("good signature refused: %v", err)
	}
	cases := map[string]func() error{
		"other secret": func() error { return alert.Verify("other", "1800000000", good, body, now, time.Minute) },
		"changed body": func() error {
			return alert.Verify("secret", "1800000000", good, []byte(`{"id":"2","type":"test"}`), now, time.Minute)
		},
		"old timestamp": func() error { return alert.Verify("secret", "1800000000", good, body, now.Add(time.Hour), time.Minute) },
		"moved timestamp": func() error {
			return alert.Verify("secret", "1800000001", good, body, now, time.Minute)
		},
		"no signature":  func() error { return alert.Verify("secret", "1800000000", "", body, now, time.Minute) },
		"bad timestamp": func() error { return alert.Verify("secret", "x", good, body, now, time.Minute) },
	}
	for name, f := range cases {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A receiver whose secret differs detects every delivery as bad.
func TestReceiverDetectsWrongSecret(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{MaxAttempts: 1})
	rcv := newReceiver(t, "receiver-secret")
	putRuleAndEndpoint(e, rcv.srv.URL, "sender-secret", alert.Rule{ID: "full", Condition: alert.FreeSeatsLow, Threshold: 2})
	e.settle()
	if rcv.bad != 1 || len(rcv.got()) != 0 {
		t.Fatalf("bad %d, events %v", rcv.bad, types(rcv.got()))
	}
}

// Subscriptions: one that ends without renewing alerts N days before its
// end, found by the timed check (no commit in between); one that renews
// alerts only while it has seats nobody holds.
func TestSubscriptionTermAlerts(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{})
	rcv := newReceiver(t, "k")
	end := e.clk.Now().Add(10 * 24 * time.Hour)
	e.do(func(tx *tenant.Tx) error {
		if err := subscription.Put(tx, subscription.Subscription{ID: "s-end", SKUID: e.sku, Quantity: 1, FriendlyName: "E3 ending",
			CreationDate: tx.Op.Now, CommitmentEndDate: &end}); err != nil {
			return err
		}
		return subscription.Put(tx, subscription.Subscription{ID: "s-renew", SKUID: e.sku, Quantity: 2, FriendlyName: "E3 renewing",
			CreationDate: tx.Op.Now.Add(time.Second), CommitmentEndDate: &end, AutoRenewEnabled: true, TermDuration: "P1Y", BillingCycle: "annual"})
	})
	e.do(func(tx *tenant.Tx) error {
		if err := alert.PutEndpoint(tx, alert.Endpoint{ID: "hook", Type: alert.Webhook, URL: rcv.srv.URL, Secret: "k"}); err != nil {
			return err
		}
		if err := alert.PutRule(tx, alert.Rule{ID: "ending", Condition: alert.SubscriptionEnding, Days: 7, Endpoints: []string{"hook"}}); err != nil {
			return err
		}
		return alert.PutRule(tx, alert.Rule{ID: "renewing", Condition: alert.SubscriptionRenewing, Days: 7, Endpoints: []string{"hook"}})
	})
	e.settle()
	if got := rcv.got(); len(got) != 0 {
		t.Fatalf("10 days before the end: %v", types(got))
	}
	e.clk.Add(3*24*time.Hour + time.Minute) // inside the 7 days, no commit
	e.settle()
	got := rcv.got()
	subjects := []string{}
	for _, ev := range got {
		subjects = append(subjects, ev.RuleID+" "+ev.Subject)
	}
	slices.Sort(subjects)
	if !slices.Equal(subjects, []string{"ending subscription/s-end", "renewing subscription/s-renew"}) {
		t.Fatalf("alerts %v", subjects)
	}
	// Every seat held: nothing could be cut before the renewal.
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1", "u2"}) })
	e.do(func(tx *tenant.Tx) error {
		return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u3", UserPrincipalName: "u3@contoso.example", UsageLocation: "US", AccountEnabled: true})
	})
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u3"}) })
	e.settle()
	if got := rcv.got(); len(got) != 3 || got[2].Type != alert.Resolved || got[2].RuleID != "renewing" {
		t.Fatalf("after every seat is held: %v", types(got))
	}
}

// A job due for a tenant that is still loading (allot serve answers before
// every tenant is loaded) waits: its endpoint is unknown, not gone. Once
// the tenant is served the alert is delivered, once.
func TestJobOfATenantStillLoadingWaits(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{})
	rcv := newReceiver(t, "s3cret")
	putRuleAndEndpoint(e, rcv.srv.URL, "s3cret", alert.Rule{ID: "errors", DisplayName: "License errors", Condition: alert.LicenseErrors,
		Errors: []string{"CountViolation"}})
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1", "u2"}) })
	e.svc.RunPending(context.Background()) // the alert is accepted: a job is queued, not delivered
	if err := e.rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	gate := make(chan struct{})
	gated := &storetest.Gated{Store: st, Gates: map[string]chan struct{}{"contoso": gate}}
	svc := alert.New(alert.Config{Store: st.(store.AlertStore), Now: e.clk.Now, Logger: quiet(), Backoff: func(int) time.Duration { return time.Second }})
	rt, err := tenant.Open(context.Background(), gated, catalog.Default(), tenantopts.With(tenant.Options{Logger: quiet(), Now: e.clk.Now, Background: true, AfterCommit: svc.AfterCommit}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	svc.Attach(rt)
	if _, err := svc.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rcv.got(); len(got) != 0 {
		t.Fatalf("delivered before the tenant was loaded: %v", types(got))
	}
	close(gate)
	if err := rt.WaitLoaded(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rcv.got(); !slices.Equal(types(got), []string{alert.Opened}) {
		t.Fatalf("after the load: %v, want one %s", types(got), alert.Opened)
	}
}

// Config.Acts: a process delivers the jobs of the tenants it acts for
// only (several processes on one database); the others' stay queued for
// them, untouched.
func TestDeliversOnlyForTheTenantsItActsFor(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	var acts atomic.Bool
	e := newEnv(t, st, alert.Config{Acts: func(_ context.Context, id string) bool { return id == "contoso" && acts.Load() }})
	rcv := newReceiver(t, "s3cret")
	putRuleAndEndpoint(e, rcv.srv.URL, "s3cret", alert.Rule{ID: "errors", Condition: alert.LicenseErrors})
	ctx := context.Background()
	if _, err := e.svc.Test(ctx, e.tn, "hook"); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.DeliverDue(ctx); err != nil || n != 0 {
		t.Fatalf("delivered %d (%v) for a tenant it does not act for", n, err)
	}
	jobs, err := st.(store.AlertStore).AlertJobs(ctx, "contoso", store.JobPending, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Attempts != 0 {
		t.Fatalf("the job after another process's turn: %+v %v", jobs, err)
	}
	acts.Store(true)
	if n, err := e.svc.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("delivered %d (%v), want the one job", n, err)
	}
	if got := rcv.got(); len(got) != 1 || got[0].Type != alert.TestType {
		t.Fatalf("received %v", types(got))
	}
}

// An open alert whose count alone moves is not written at every commit:
// the stored summary follows at most once a minute (a timed check writes
// it), while the alert's changes are stored at once.
func TestSummaryAloneIsStoredAtMostOnceAMinute(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{})
	rcv := newReceiver(t, "s3cret")
	putRuleAndEndpoint(e, rcv.srv.URL, "s3cret", alert.Rule{ID: "errors", Condition: alert.LicenseErrors})
	e.do(func(tx *tenant.Tx) error {
		return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u3", UserPrincipalName: "u3@contoso.example", UsageLocation: "US", AccountEnabled: true})
	})
	ctx := context.Background()
	stored := func() store.AlertState {
		t.Helper()
		states, err := st.(store.AlertStore).AlertStates(ctx, "contoso")
		if err != nil || len(states) != 1 {
			t.Fatalf("states %+v, %v", states, err)
		}
		return states[0]
	}
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1", "u2"}) })
	e.settle()
	if a := stored(); !a.Open || !strings.HasPrefix(a.Summary, "1 license assignments") {
		t.Fatalf("opened: %+v", a)
	}
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u3"}) })
	e.settle()
	if a := stored(); !strings.HasPrefix(a.Summary, "1 license assignments") {
		t.Fatalf("the count moved: stored at once (%q), want at most once a minute", a.Summary)
	}
	e.clk.Add(time.Minute)
	e.settle() // the timed check
	if a := stored(); !strings.HasPrefix(a.Summary, "2 license assignments") {
		t.Fatalf("a minute later: %q, want the new count", a.Summary)
	}
	// The condition clears: stored at once, without waiting.
	e.do(func(tx *tenant.Tx) error { return tx.Engine.RemoveMembers(tx.Op, "g1", []string{"u2", "u3"}) })
	e.settle()
	if a := stored(); a.Open && a.ClearSince.IsZero() {
		t.Fatalf("cleared: %+v, want resolved or clearing", a)
	}
	if got := types(rcv.got()); len(got) == 0 || got[0] != alert.Opened || slices.Contains(got, alert.Repeated) {
		t.Fatalf("events %v", got)
	}
}
