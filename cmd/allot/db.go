package main

import (
	"context"
	"strings"

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
