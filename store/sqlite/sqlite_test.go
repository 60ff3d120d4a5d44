package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"

	"allot/store"
	"allot/store/sqlite"
	"allot/store/storetest"
)

// dbPaths gives each (sub)test one database file, so that a second open in
// the same test reopens it.
var dbPaths sync.Map // *testing.T → string

func dbPath(t testing.TB) string {
	if p, ok := dbPaths.Load(t); ok {
		return p.(string)
	}
	p := filepath.Join(t.TempDir(), "allot.db")
	dbPaths.Store(t, p)
	t.Cleanup(func() { dbPaths.Delete(t) })
	return p
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	return openAt(t, dbPath(t))
}

// openAt opens the database at path for the test and closes it at cleanup.
func openAt(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t) })
}
