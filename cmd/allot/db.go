package main

import (
	"context"
	"fmt"
	"strings"

	"allot/catalog"
	"allot/tenant"

	"allot/store"
	"allot/store/postgres"
	"allot/store/sqlite"
)

// defaultDB is the embedded SQLite file used when --db is not given.
const defaultDB = "allot.db"

// openStore opens --db: a postgres:// or postgresql:// URL, or a SQLite file
// path.
func openStore(ctx context.Context, db string) (store.Store, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return postgres.Open(ctx, db)
	}
	return sqlite.Open(db)
}

// withTenant opens the database and the tenant runtime (offline, as CLI
// commands do), runs fn on the tenant, and closes both, so that every
// command finishes its writes before it exits.
func withTenant(ctx context.Context, db, tenantID string, fn func(t *tenant.Tenant) error) error {
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenant.Options{Logger: quietLogger()})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	t, ok := rt.Get(tenantID)
	if !ok {
		return fmt.Errorf("tenant %s does not exist (create it with the partner API first)", tenantID)
	}
	return fn(t)
}
