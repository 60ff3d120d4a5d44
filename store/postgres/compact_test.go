package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"allot/store"
	"allot/store/postgres"
)

// The background compaction compacts a tenant without a snapshot, and
// leaves alone one whose log is short again (a commit made while a
// compaction ran asked for another); Compact itself compacts any log.
func TestTheBackgroundCompactionLeavesAShortLog(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, schemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	commit := func(id string) {
		t.Helper()
		if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{{Kind: store.KindUser, ID: id, Body: []byte(`{}`)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(ctx, `SELECT coalesce((SELECT snapshot_seq FROM state_heads WHERE tenant_id = 't1'), -1)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	commit("u1")
	commit("u2")
	if err := postgres.CompactLong(s, "t1"); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(); got != 2 {
		t.Fatalf("a tenant without a snapshot: snapshot %d after the background compaction, want 2", got)
	}
	commit("u3")
	if err := postgres.CompactLong(s, "t1"); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(); got != 2 {
		t.Fatalf("a short log: snapshot %d after the background compaction, want 2 (left alone)", got)
	}
	if err := s.Compact(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(); got != 3 {
		t.Fatalf("Compact of a short log: snapshot %d, want 3", got)
	}
}
