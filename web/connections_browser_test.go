package web_test

import (
	"context"
	"testing"
	"time"
)

// TestBrowserConnections drives the connections page in Chromium: the
// health of a synced connection, a running sync's progress (the Microsoft
// tenant's Graph holds its reads of users meanwhile), and the Plan button,
// whose page lists the assignLicense call allot would make, applied with
// Apply.
func TestBrowserConnections(t *testing.T) {
	browser := startBrowser(t)
	w := newPlanWorld(t)
	s := newSession(t, browser, w.local.URL)
	s.signIn(w.ladmin)
	s.open("/admin/connections")
	s.waitText("section.connection h2", "healthy")
	s.waitText("section.connection dl", "2 users, 0 groups read")

	h := make(chan struct{})
	w.hold.Store(&h)
	s.submit(`form[action$="/sync"]`)
	s.waitText(".flash.ok", "Directory sync started.")
	select {
	case <-w.holding:
	case <-time.After(stepTimeout):
		t.Fatal("the sync never read users")
	}
	s.open("/admin/connections")
	s.waitText("section.connection h2", "running")
	s.waitText(`dd[role=status]`, "requests")
	w.hold.Store(nil)
	close(h)
	if _, err := w.mgr.Wait(context.Background(), w.lid, w.conn); err != nil {
		t.Fatalf("the held sync: %v", err)
	}
	s.open("/admin/connections")
	s.waitText("section.connection h2", "healthy")

	s.clickAndWait(`form[action$="/plan"] button[type=submit]`)
	s.waitText("main h1", "Plan: Fabrikam")
	s.waitText("#plan-calls", "ann@fabrikam.example")
	s.waitText("#plan-calls", "SPE_E3")
	s.waitText("#plan-calls", "E3 pilot")
	s.submit("#apply-form")
	s.waitText(".flash.ok", "Applied: 1 call made in Microsoft 365.")
	s.waitText("main", "Nothing to change")
	if got := w.remoteSKUs(t, w.ann); got != e3SKU {
		t.Fatalf("after Apply in the browser, ann holds %q in Microsoft 365", got)
	}
}
