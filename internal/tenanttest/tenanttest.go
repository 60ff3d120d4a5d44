// Package tenanttest is the test set-up the packages above the tenant
// runtime share: a SQLite store in the test's directory and a runtime over
// it with a quiet log and allot's extensions, indexes and maintenance
// tasks (internal/tenantopts), both closed when the test ends, and a
// tenant in it. (HTTP surfaces use api/apitest, which adds a server; the
// read-model tests' synthetic state is internal/readmodeltest.)
package tenanttest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// Store opens a SQLite store in the test's directory, closed when the test
// ends.
func Store(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Runtime opens a runtime over st with Microsoft's catalog, a quiet log,
// allot's extensions, indexes and maintenance tasks and the clock now (nil: time.Now), closed when the test ends (before the
// store: cleanups run last-registered first). A test that closes the
// runtime itself opens it with tenant.Open.
func Runtime(t testing.TB, st store.Store, now func() time.Time) *tenant.Runtime {
	t.Helper()
	rt, err := tenant.Open(context.Background(), st, catalog.Default(),
		tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

// Tenant creates a tenant named after its id with default usage location US.
func Tenant(t testing.TB, rt *tenant.Runtime, id string) *tenant.Tenant {
	t.Helper()
	tn, err := rt.Create(context.Background(), store.Tenant{ID: id, CompanyName: id, DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}
