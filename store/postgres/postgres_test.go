package postgres_test

import (
	"context"
	"sync"
	"testing"

	"allot/internal/pgtest"
	"allot/store"
	"allot/store/postgres"
	"allot/store/storetest"
)

// The tests run against the PostgreSQL at $ALLOT_TEST_POSTGRES, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable, and are skipped
// without it, unless $ALLOT_REQUIRE_POSTGRES is set (CI): then they fail.
// Each test gets a fresh schema, dropped afterwards (internal/pgtest).

// baseURL returns $ALLOT_TEST_POSTGRES or skips (fails in CI) without it.
func baseURL(t testing.TB) string { return pgtest.URL(t) }

// schemaURLs gives each (sub)test one schema, so that a second open in the
// same test reopens it.
var schemaURLs sync.Map // testing.TB → string

// schemaURL returns the URL of a new, empty schema for t (the same one for
// every call in t).
func schemaURL(t testing.TB) string {
	t.Helper()
	if u, ok := schemaURLs.Load(t); ok {
		return u.(string)
	}
	u := pgtest.Schema(t)
	schemaURLs.Store(t, u)
	t.Cleanup(func() { schemaURLs.Delete(t) })
	return u
}

func openStore(t testing.TB) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), schemaURL(t))
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
	baseURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t) })
}
