// Package pgtest is the PostgreSQL set-up every package's tests share:
// the server at $ALLOT_TEST_POSTGRES (e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable; a test is
// skipped without it, and fails without it when $ALLOT_REQUIRE_POSTGRES is
// set, as in CI), a schema of the test's own that is dropped when the test
// ends, and a store in it. The allot processes that share one database
// (allot serve --ha) are internal/tenanttest's Process and, with a server,
// api/apitest's ServeShared.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"allot/store/postgres"
)

// The environment variables the tests read.
const (
	EnvURL     = "ALLOT_TEST_POSTGRES"
	EnvRequire = "ALLOT_REQUIRE_POSTGRES"
)

// Enabled returns $ALLOT_TEST_POSTGRES and whether it is set; without it,
// a test that requires PostgreSQL ($ALLOT_REQUIRE_POSTGRES) fails. For a
// test that runs on PostgreSQL beside SQLite.
func Enabled(t testing.TB) (string, bool) {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" && os.Getenv(EnvRequire) != "" {
		t.Fatalf("%s is set but %s is not", EnvRequire, EnvURL)
	}
	return u, u != ""
}

// URL returns $ALLOT_TEST_POSTGRES, or skips the test without it (fails
// it when $ALLOT_REQUIRE_POSTGRES is set).
func URL(t testing.TB) string {
	t.Helper()
	u, ok := Enabled(t)
	if !ok {
		t.Skipf("%s is not set", EnvURL)
	}
	return u
}

// Schema creates a schema of the test's own on the server at
// $ALLOT_TEST_POSTGRES (skipping the test without it) and returns the URL
// that works in it.
func Schema(t testing.TB) string {
	t.Helper()
	return SchemaOn(t, URL(t))
}

// SchemaOn creates a fresh schema on the server at base, dropped when the
// test ends (on a connection of its own, so that a server restarted
// meanwhile is no matter), and returns base with search_path set to it.
func SchemaOn(t testing.TB, base string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "allot_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a store in a schema of the test's own on the server at base
// ($ALLOT_TEST_POSTGRES, from Enabled or URL), closed when the test ends
// (before the schema is dropped), and returns it with its URL.
func Open(t testing.TB, base string) (*postgres.Store, string) {
	t.Helper()
	dsn := SchemaOn(t, base)
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dsn
}
