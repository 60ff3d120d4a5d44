package pgtest_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"allot/internal/pgtest"
)

// A test's schema is its own (two tests get two), its store works in it,
// and it is gone once the test has ended.
func TestSchemaIsTheTestsOwnAndDroppedAfter(t *testing.T) {
	base := pgtest.URL(t)
	var schemas []string
	for range 2 {
		t.Run("store", func(t *testing.T) {
			st, dsn := pgtest.Open(t, base)
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			schemas = append(schemas, u.Query().Get("search_path"))
			if _, err := st.ListTenants(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	if len(schemas) != 2 || schemas[0] == schemas[1] || schemas[0] == "" {
		t.Fatalf("schemas %q", schemas)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ANY($1)", schemas).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d of the schemas %q are left after their tests", n, schemas)
	}
}
