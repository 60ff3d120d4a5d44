package alert

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// A rule on a group's errors with codes reads the engine's counts by code
// (licensing.Engine.GroupErrorCountOf): after every kind of change, the
// alert says what a walk of the group's members in error counts.
func TestGroupErrorCountsFollowTheCommits(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clk := func() time.Time { return now }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := New(Config{Store: st, Now: clk, Logger: log})
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: log, Now: clk, AfterCommit: svc.AfterCommit}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	svc.Attach(rt)
	tn, err := rt.Create(ctx, store.Tenant{ID: "contoso", CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	sku, _ := catalog.Default().SKU("ENTERPRISEPACK")
	do := func(fn func(tx *tenant.Tx) error) {
		t.Helper()
		now = now.Add(time.Second)
		if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: now}, fn); err != nil {
			t.Fatal(err)
		}
	}
	users := []string{"u1", "u2", "u3", "u4", "u5"}
	do(func(tx *tenant.Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, sku.ID, licensing.Units{Enabled: 1}); err != nil {
			return err
		}
		for _, u := range users {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: u, UserPrincipalName: u + "@contoso.example", AccountEnabled: true, UsageLocation: "US"}); err != nil {
				return err
			}
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g1", DisplayName: "Sales", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "g1", []licensing.AssignedLicense{{SKUID: sku.ID}}, nil); err != nil {
			return err
		}
		if err := tx.Engine.AddMembers(tx.Op, "g1", users[:4]); err != nil {
			return err
		}
		if err := PutEndpoint(tx, Endpoint{ID: "hook", Type: Webhook, URL: "http://127.0.0.1:1/", Secret: "s"}); err != nil {
			return err
		}
		return PutRule(tx, Rule{ID: "sales", Condition: LicenseErrors, GroupID: "g1", Errors: []string{"CountViolation"}, Endpoints: []string{"hook"}})
	})
	// check evaluates and compares the alert's count with a fresh walk.
	check := func(want int) {
		t.Helper()
		svc.RunPending(ctx)
		var fresh int
		tn.Read(func(s *tenant.State) { fresh = walkGroupErrors(s.Engine, "g1", "CountViolation") })
		if fresh != want {
			t.Fatalf("a fresh walk counts %d, want %d", fresh, want)
		}
		// The service's states: a summary alone is stored at most once a
		// minute (summaryEvery).
		svc.mu.Lock()
		states := svc.states["contoso"]
		svc.mu.Unlock()
		open := ""
		for _, a := range states {
			if a.Open && a.ClearSince.IsZero() {
				open = a.Summary
			}
		}
		switch {
		case want == 0 && open != "":
			t.Fatalf("no error, but the alert says %q", open)
		case want > 0 && !strings.HasPrefix(open, itoa(want)+" license assignments"):
			t.Fatalf("%d errors, but the alert says %q", want, open)
		}
	}
	check(3) // one seat, four members: three wait in error
	do(func(tx *tenant.Tx) error { return tx.Engine.RemoveMembers(tx.Op, "g1", []string{"u2"}) })
	check(2)
	do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u5"}) })
	check(3)
	do(func(tx *tenant.Tx) error { return tx.Engine.DeleteUser(tx.Op, "u1") }) // the seat holder: another member takes the seat
	check(2)
	do(func(tx *tenant.Tx) error { return tx.Engine.SetUnits(tx.Op, sku.ID, licensing.Units{Enabled: 2}) })
	check(1)
	do(func(tx *tenant.Tx) error { return tx.Engine.SetUnits(tx.Op, sku.ID, licensing.Units{Enabled: 10}) })
	check(0)
	do(func(tx *tenant.Tx) error {
		return tx.Engine.SetUnitsReleasing(tx.Op, sku.ID, licensing.Units{Enabled: 1})
	})
	check(2)
	// A bulk change (anything may have changed): the same.
	svc.AfterCommit("contoso", nil, nil)
	check(2)
}

// walkGroupErrors counts the group's member sources in Error with the
// code, by a walk of its members in error.
func walkGroupErrors(e *licensing.Engine, groupID, code string) int {
	n := 0
	for _, id := range e.MembersWithLicenseErrors(groupID) {
		for _, l := range e.Licenses(id) {
			for _, src := range l.Sources {
				if src.AssignedByGroup == groupID && src.State == licensing.StateError && src.Error.String() == code {
					n++
				}
			}
		}
	}
	return n
}
