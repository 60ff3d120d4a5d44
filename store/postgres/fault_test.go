package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"allot/store"
)

// A database that refuses writes is classified by its SQLSTATE: read-only
// (25006) and disk full (53100) are store.ErrUnwritable with the reason, for
// Commit and ProbeWrite alike — what the runtime answers clients and /readyz
// with. The refusal is made by a trigger raising PostgreSQL's own codes (a
// real read-only or full server cannot be had per test schema).
func TestRefusedWritesAreClassified(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe of a writable database: %v", err)
	}
	conn, err := pgx.Connect(ctx, schemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, c := range []struct{ code, reason string }{{"25006", "read-only"}, {"53100", "full"}} {
		for _, q := range []string{
			`CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
			 BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '` + c.code + `'; END $$`,
			`CREATE OR REPLACE TRIGGER refuse_objects BEFORE INSERT OR UPDATE ON state_changes FOR EACH ROW EXECUTE FUNCTION refuse()`,
			`CREATE OR REPLACE TRIGGER refuse_probe BEFORE INSERT OR UPDATE ON write_probe FOR EACH ROW EXECUTE FUNCTION refuse()`,
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		m := store.Mutation{Kind: store.KindUser, ID: "u1", Body: []byte(`{}`)}
		for name, err := range map[string]error{
			"commit": s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{m}}}),
			"probe":  s.ProbeWrite(ctx),
		} {
			f := store.FaultOf(err)
			if !errors.Is(err, store.ErrUnwritable) || f == nil || !strings.Contains(f.Reason, c.reason) {
				t.Fatalf("%s refused with %s: %v", name, c.code, err)
			}
		}
	}
	if _, err := conn.Exec(ctx, `DROP TRIGGER refuse_objects ON state_changes; DROP TRIGGER refuse_probe ON write_probe`); err != nil {
		t.Fatal(err)
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe once writes work again: %v", err)
	}
}

// ProbeWrite really writes: each probe bumps the write_probe counter, so it
// fails whenever a write would (it used to rewrite a row with its own
// values, which SQLite commits without writing anything).
func TestProbeWriteCommitsARealWrite(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, schemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	counter := func() int64 {
		var n int64
		if err := conn.QueryRow(ctx, `SELECT n FROM write_probe WHERE id = 1`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := 0; i < 3; i++ {
		before := counter()
		if err := s.ProbeWrite(ctx); err != nil {
			t.Fatalf("probe of a writable database: %v", err)
		}
		if after := counter(); after != before+1 {
			t.Fatalf("probe %d: counter %d -> %d, want one more", i, before, after)
		}
	}
}
