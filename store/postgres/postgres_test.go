package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"allot/store"
	"allot/store/postgres"
	"allot/store/storetest"
)

// The tests run against the PostgreSQL at $ALLOT_TEST_POSTGRES, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable, and are skipped
// without it, unless $ALLOT_REQUIRE_POSTGRES is set (CI): then they fail.
// Each test gets a fresh schema, dropped afterwards.
const (
	envURL     = "ALLOT_TEST_POSTGRES"
	envRequire = "ALLOT_REQUIRE_POSTGRES"
)

// baseURL returns $ALLOT_TEST_POSTGRES or skips (fails in CI) without it.
func baseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		if os.Getenv(envRequire) != "" {
			t.Fatalf("%s is set but %s is not", envRequire, envURL)
		}
		t.Skipf("%s is not set", envURL)
	}
	return u
}

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
	base := baseURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", envURL, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "allot_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", envURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	schemaURLs.Store(t, u.String())
	t.Cleanup(func() { schemaURLs.Delete(t) })
	return u.String()
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
