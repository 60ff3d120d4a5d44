package deleteditems_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"allot/catalog"
	"allot/deleteditems"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

const tid = "11111111-1111-1111-1111-111111111111"

func sku(t *testing.T, part string) string {
	s, ok := catalog.Default().SKU(part)
	if !ok {
		t.Fatalf("no SKU %s", part)
	}
	return s.ID
}

type env struct {
	t   *testing.T
	st  store.Store
	rt  *tenant.Runtime
	now time.Time
}

func (e *env) open() *tenant.Tenant {
	e.t.Helper()
	rt, err := tenant.Open(context.Background(), e.st, catalog.Default(), tenantopts.With(tenant.Options{}))
	if err != nil {
		e.t.Fatal(err)
	}
	e.rt = rt
	tn, ok := rt.Get(tid)
	if !ok {
		e.t.Fatal("tenant not loaded")
	}
	return tn
}

func (e *env) restart() *tenant.Tenant {
	e.t.Helper()
	if err := e.rt.Close(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return e.open()
}

func (e *env) do(tn *tenant.Tenant, fn func(tx *tenant.Tx) error) {
	e.t.Helper()
	e.now = e.now.Add(time.Minute)
	if err := tn.Do(context.Background(), licensing.Op{Actor: "test", Now: e.now}, fn); err != nil {
		e.t.Fatal(err)
	}
}

// snapshotOf renders what readers see of a user.
func snapshotOf(s *tenant.State, id string) string {
	u, ok := s.Engine.User(id)
	return fmt.Sprintf("%v %+v %+v %+v %v", ok, u, s.Engine.Licenses(id), s.Engine.DirectLicenses(id), s.Engine.GroupsOf(id))
}

// A deleted user and its restore are durable: the deleted item survives a
// restart (and the user stays out of the engine), and after the restore
// the user, its memberships and licenses survive one too.
func TestDeleteAndRestoreSurviveRestarts(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	rt, err := tenant.Open(context.Background(), st, catalog.Default(), tenantopts.With(tenant.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	e.rt = rt
	tn, err := rt.Create(context.Background(), store.Tenant{ID: tid, CompanyName: "Contoso"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	e3, pack := sku(t, "SPE_E3"), sku(t, "ENTERPRISEPACK")
	e.do(tn, func(tx *tenant.Tx) error {
		for _, err := range []error{
			tx.Engine.SetUnits(tx.Op, e3, licensing.Units{Enabled: 4}),
			tx.Engine.SetUnits(tx.Op, pack, licensing.Units{Enabled: 4}),
			tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "sales", DisplayName: "Sales", SKUID: pack, AllottedUnits: 2}),
			tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g", DisplayName: "G", SecurityEnabled: true}),
			tx.Engine.AssignGroupLicenses(tx.Op, "g", []licensing.AssignedLicense{{SKUID: e3}}, nil),
			tx.Engine.PutUser(tx.Op, licensing.User{ID: "u", UserPrincipalName: "u@contoso.example", UsageLocation: "US", AccountEnabled: true}),
			tx.Engine.AddMembers(tx.Op, "g", []string{"u"}),
			tx.Engine.AssignUserLicenses(tx.Op, "u", []licensing.AssignedLicense{{SKUID: pack}}, nil),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	// what comes back: memberships, direct licenses, held products
	holdings := func(s *tenant.State) string {
		var held []string
		for _, l := range s.Engine.Licenses("u") {
			if l.Held {
				held = append(held, l.SKUID+"/"+l.AllotmentID)
			}
		}
		return fmt.Sprint(s.Engine.GroupsOf("u"), s.Engine.DirectLicenses("u"), held)
	}
	var live string
	tn.Read(func(s *tenant.State) { live = holdings(s) })

	e.do(tn, func(tx *tenant.Tx) error { return deleteditems.DeleteUser(tx, "u") })
	tn = e.restart()
	tn.Read(func(s *tenant.State) {
		if _, ok := s.Engine.User("u"); ok {
			t.Fatal("the deleted user is back in the engine after a restart")
		}
		it, ok, err := deleteditems.Get(s, "u")
		if err != nil || !ok || it.User == nil || !it.User.DeletedAt.Equal(e.now) || len(it.User.MemberOf) != 1 || len(it.User.DirectLicenses) != 1 {
			t.Fatalf("deleted item after restart: %+v %v %v", it.User, ok, err)
		}
		if p, _ := s.Engine.Pool(e3); p.Consumed != 0 {
			t.Fatalf("seats of the deleted user: %+v", p)
		}
	})

	e.do(tn, func(tx *tenant.Tx) error { _, err := deleteditems.Restore(tx, "u", ""); return err })
	var restored string
	tn.Read(func(s *tenant.State) { restored = snapshotOf(s, "u") })
	tn = e.restart()
	var after string
	tn.Read(func(s *tenant.State) {
		after = snapshotOf(s, "u")
		if _, ok, _ := deleteditems.Get(s, "u"); ok {
			t.Fatal("a restored user is still a deleted item")
		}
	})
	if restored != after {
		t.Fatalf("restored state differs after a restart:\n%s\n%s", restored, after)
	}
	tn.Read(func(s *tenant.State) {
		if got := holdings(s); got != live {
			t.Fatalf("restored user holds %s, had %s", got, live)
		}
	})

	// Through an allotment too: the direct license comes back in its
	// allotment, and the store agrees with memory after a restart.
	e.do(tn, func(tx *tenant.Tx) error { return tx.Engine.AssignThroughAllotment(tx.Op, "sales", "u", nil) })
	e.do(tn, func(tx *tenant.Tx) error { return deleteditems.DeleteUser(tx, "u") })
	e.do(tn, func(tx *tenant.Tx) error { _, err := deleteditems.Restore(tx, "u", ""); return err })
	tn.Read(func(s *tenant.State) { restored = snapshotOf(s, "u") })
	tn = e.restart()
	tn.Read(func(s *tenant.State) { after = snapshotOf(s, "u") })
	if restored != after {
		t.Fatalf("restored allotment license differs after a restart:\n%s\n%s", restored, after)
	}
	e.rt.Close(context.Background())
}
