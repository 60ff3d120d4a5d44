package sqlite_test

import (
	"path/filepath"
	"testing"

	"allot/store"
	"allot/store/sqlite"
	"allot/store/storetest"
)

func TestOneWriterOwnsTheDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	storetest.RunOwnership(t,
		func() (store.Store, error) { return sqlite.Open(path) },
		func() (store.Store, error) { return sqlite.OpenReadOnly(path) })
}

func TestReadOnlyOpenNeedsAnExistingCurrentDatabase(t *testing.T) {
	if _, err := sqlite.OpenReadOnly(filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Fatal("OpenReadOnly created or opened a missing database")
	}
}
