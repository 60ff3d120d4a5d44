package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"allot/store"
)

// Commits never checkpoint inline; the background checkpointer copies the
// log into the database file soon after writes, and Close empties the log.
func TestCheckpointsRunInTheBackground(t *testing.T) {
	path := dbPath(t)
	s := openAt(t, path)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	// Let the tenant's own write be checkpointed, then measure.
	waitFor(t, func() bool { return size(path) > 0 })
	before := size(path)
	body := []byte(`{"displayName":"padding padding padding padding padding padding padding padding"}`)
	for i := range 3000 {
		err := s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{{Kind: store.KindUser, ID: fmt.Sprintf("u%05d", i), Body: body}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The database file grows only through checkpoints.
	waitFor(t, func() bool { return size(path) > before })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := size(path + "-wal"); n != 0 {
		t.Fatalf("log still holds %d bytes after Close", n)
	}
	// Everything is there after reopening.
	s2 := openAt(t, path)
	n := 0
	if err := s2.LoadObjects(ctx, "t1", func(store.Object) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 3000 {
		t.Fatalf("reopened store has %d objects, want 3000", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
