package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/tenant"

	"allot/store"
	"allot/store/postgres"
	"allot/store/sqlite"
)

// defaultDB is the embedded SQLite file used when --db is not given.
const defaultDB = "allot.db"

// isPostgres reports whether --db names a PostgreSQL database rather than a
// SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens an existing database named by --db: a postgres:// or
// postgresql:// URL, or a SQLite file path. A SQLite file that does not exist
// is refused (see requireDatabase) and nothing is created: only allot serve
// and allot bench create a database, with createStore.
func openStore(ctx context.Context, db string) (store.Store, error) {
	if err := requireDatabase(db); err != nil {
		return nil, err
	}
	return createStore(ctx, db)
}

// createStore opens --db and creates the SQLite file (and its schema) when it
// does not exist yet. Only commands that set up a database on purpose use it.
func createStore(ctx context.Context, db string) (store.Store, error) {
	if isPostgres(db) {
		return postgres.Open(ctx, db)
	}
	return sqlite.Open(db)
}

// createsDatabase annotates the commands that create their --db on purpose
// (allot serve, allot bench import; allot bench follow and failover make a
// schema of their own); requireDatabaseFlag lets them through.
var createsDatabase = map[string]string{"allot/creates-database": "true"}

// requireDatabaseFlag runs before every command (rootCmd's
// PersistentPreRunE): a command with a --db flag that does not create its
// database fails at once when the SQLite file is missing, before it reads
// its input or draws a progress bar. openStore checks again, for the
// commands' own callers.
func requireDatabaseFlag(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags().Lookup("db")
	if f == nil || cmd.Annotations["allot/creates-database"] != "" {
		return nil
	}
	return requireDatabase(f.Value.String())
}

// requireDatabase refuses a SQLite --db file that does not exist, so that a
// command run in the wrong folder or without --db says so instead of
// working on a new, empty database. Every CLI command except allot serve
// opens its database through it (openStore, openStoreReadOnly).
func requireDatabase(db string) error {
	if isPostgres(db) {
		return nil
	}
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no allot database at %s; pass --db or start allot serve first", db)
	}
	return nil
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
	return onTenant(ctx, st, tenantID, func(_ *tenant.Runtime, t *tenant.Tenant) error { return fn(t) })
}

// onTenant opens the tenant runtime on st, runs fn on the tenant and closes
// the runtime; a tenant that does not exist is an error naming how to make it.
func onTenant(ctx context.Context, st store.Store, tenantID string, fn func(rt *tenant.Runtime, t *tenant.Tenant) error) error {
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	t, ok := rt.Get(tenantID)
	if !ok {
		return fmt.Errorf("tenant %s does not exist (create it with the partner API first)", tenantID)
	}
	return fn(rt, t)
}
