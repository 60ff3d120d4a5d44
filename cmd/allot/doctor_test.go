package main

import (
	"bytes"
	"context"
	"encoding/json"
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

// allot doctor lists, without writing, the inconsistent records of a
// database (written straight into the store here) and repairs them with
// --repair; afterwards the tenant takes writes again.
func TestDoctorListsAndRepairsABrokenDatabase(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "allot.db")
	const broken, fine = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	e3, _ := catalog.Default().SKU("SPE_E3")
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{broken, fine} {
		tn, err := rt.Create(ctx, store.Tenant{ID: id, CompanyName: id}, licensing.Settings{DefaultUsageLocation: "US"})
		if err != nil {
			t.Fatal(err)
		}
		err = tn.Do(ctx, licensing.Op{Now: time.Now()}, func(tx *tenant.Tx) error {
			if err := tx.Engine.SetUnits(tx.Op, e3.ID, licensing.Units{Enabled: 3}); err != nil {
				return err
			}
			return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u1", UserPrincipalName: "u1@c", UsageLocation: "US"})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rt.Close(ctx)
	src, _ := json.Marshal(licensing.LicenseSource{SKUID: e3.ID, AssignedAt: time.Now().UTC()})
	if err := st.Commit(ctx, []store.Change{{TenantID: broken, Mutations: []store.Mutation{
		{Kind: store.KindDirectLicense, ID: "gone/" + e3.ID, Body: src},
	}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	run := func(args ...string) (string, error) {
		cmd := newDoctorCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append([]string{"--db", db}, args...))
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	out, err := run()
	if err != errSilent || !strings.Contains(out, "tenant "+broken+": 1 problem(s)") || !strings.Contains(out, "directLicense gone/"+e3.ID+": license of missing user gone") ||
		!strings.Contains(out, "tenant "+fine+": consistent") || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if out2, _ := run(); out2 != out {
		t.Fatalf("the dry run changed something:\n%s\n%s", out, out2)
	}
	// serve, export and report still open the database; the tenant is read-only.
	err = withTenant(ctx, db, broken, func(tn *tenant.Tenant) error {
		return tn.Do(ctx, licensing.Op{}, func(tx *tenant.Tx) error { return tx.Engine.ReprocessUser(tx.Op, "u1") })
	})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a write to the broken tenant: %v", err)
	}
	if out, err := run("--repair"); err != nil || !strings.Contains(out, "tenant "+broken+": repaired 1 problem(s)") {
		t.Fatalf("repair: %v\n%s", err, out)
	}
	if out, err := run("--json"); err != nil || strings.Count(out, `"problems": []`)+strings.Count(out, `"problems": null`) != 2 {
		t.Fatalf("after repair: %v\n%s", err, out)
	}
	err = withTenant(ctx, db, broken, func(tn *tenant.Tenant) error {
		return tn.Do(ctx, licensing.Op{}, func(tx *tenant.Tx) error { return tx.Engine.ReprocessUser(tx.Op, "u1") })
	})
	if err != nil {
		t.Fatalf("the repaired tenant refused a write: %v", err)
	}
}
