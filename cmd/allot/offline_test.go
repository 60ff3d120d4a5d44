package main

import (
	"context"
	"path/filepath"
	"testing"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// testTenantID is the tenant newOfflineTenant creates.
const testTenantID = "11111111-1111-4111-8111-111111111111"

// newOfflineTenant opens a new SQLite database in a temporary folder and
// the tenant runtime on it, as the CLI does, with one tenant (testTenantID,
// default usage location US). The caller closes rt and st before running
// a CLI command on db (a command needs the database to itself).
func newOfflineTenant(t *testing.T) (db string, st *sqlite.Store, rt *tenant.Runtime, tn *tenant.Tenant) {
	t.Helper()
	db = filepath.Join(t.TempDir(), "allot.db")
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err = tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	tn, err = rt.Create(ctx, store.Tenant{ID: testTenantID, CompanyName: "C", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	return db, st, rt, tn
}
