package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"allot/store"
	"allot/store/sqlite"
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

// The write-ahead log stays bounded under sustained writes with readers
// busy at the same time: PASSIVE checkpoints alone never let the log start
// over while commits keep coming (it grew to 600 MB beside a 22 MB database
// and stayed that size while idle), so once the log passes the limit the
// checkpointer runs a TRUNCATE checkpoint that writers wait for.
func TestWriteAheadLogStaysBoundedUnderSustainedWrites(t *testing.T) {
	path := dbPath(t)
	s := openAt(t, path)
	const limit = 256 << 10
	sqlite.SetWALLimit(s, limit)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"displayName":"` + strings.Repeat("padding ", 100) + `"}`)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = s.LoadObjects(ctx, "t1", func(store.Object) error { return nil })
			}
		}()
	}
	var writers sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 400 {
				m := store.Mutation{Kind: store.KindUser, ID: fmt.Sprintf("u%d-%d", w, i%50), Body: body}
				if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{m}}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	size := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	// Idle: the log comes back under the limit (and stays there).
	deadline := time.Now().Add(10 * time.Second)
	for size() > limit {
		if time.Now().After(deadline) {
			t.Fatalf("the idle log holds %d KiB, over the limit of %d KiB", size()>>10, limit>>10)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
