package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"allot/store/postgres"
	"allot/store/storetest"
)

// The background compaction compacts a tenant without a snapshot, and
// leaves alone one whose log is short again (a commit made while a
// compaction ran asked for another); Compact itself compacts any log.
func TestTheBackgroundCompactionLeavesAShortLog(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, schemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	storetest.RunBackgroundCompactionLeavesAShortLog(t, s, func(id string) error { return postgres.CompactLong(s, id) }, func(id string) int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(ctx, `SELECT coalesce((SELECT snapshot_seq FROM state_heads WHERE tenant_id = $1), -1)`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	})
}
