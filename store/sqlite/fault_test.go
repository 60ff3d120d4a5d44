package sqlite_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"allot/store"
	"allot/store/sqlite"
)

// Failed writes are classified: a read-only or full database refuses
// writes until an operator acts (store.ErrUnwritable, with the reason);
// ProbeWrite sees a read-only database the same way (a full one only when
// even a write that adds nothing has no room) and recovers with it.
func TestWriteFailuresAreClassified(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	commit := func(id string, size int) error {
		// Random bytes: records are compressed, and a repeated letter
		// would fit in the pages the database has.
		var b strings.Builder
		for b.Len() < size {
			b.WriteString(rand.Text())
		}
		m := store.Mutation{Kind: store.KindUser, ID: id, Body: []byte(`{"x":"` + b.String() + `"}`)}
		return s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{m}}})
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe of a healthy database: %v", err)
	}
	for _, c := range []struct {
		pragma, undo, reason string
		probeFails           bool
	}{
		{"PRAGMA query_only = 1", "PRAGMA query_only = 0", "read-only", true},
		{"PRAGMA max_page_count = 1", "PRAGMA max_page_count = 1073741823", "full", false},
	} {
		if err := sqlite.WriterExec(s, c.pragma); err != nil {
			t.Fatal(err)
		}
		failed := map[string]error{"commit": commit("u-"+c.reason, 64<<10)}
		if c.probeFails {
			failed["probe"] = s.ProbeWrite(ctx)
		}
		for name, err := range failed {
			f := store.FaultOf(err)
			if !errors.Is(err, store.ErrUnwritable) || f == nil || !strings.Contains(f.Reason, c.reason) {
				t.Fatalf("%s on a %s database: %v", name, c.reason, err)
			}
		}
		if err := sqlite.WriterExec(s, c.undo); err != nil {
			t.Fatal(err)
		}
		if err := s.ProbeWrite(ctx); err != nil {
			t.Fatalf("probe after %s: %v", c.undo, err)
		}
		if err := commit("u-"+c.reason, 64<<10); err != nil {
			t.Fatalf("commit after %s: %v", c.undo, err)
		}
	}
}

// ProbeWrite really writes: another connection sees a new commit after each
// probe (PRAGMA data_version changes). The probe used to rewrite a row with
// its own bytes, which SQLite commits without writing anything, so it
// succeeded on a database whose every real write failed.
func TestProbeWriteCommitsARealWrite(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	db, err := sql.Open("sqlite", dbPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // data_version is per connection
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	version := func() int64 {
		var v int64
		if err := conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for i := 0; i < 3; i++ {
		before := version()
		if err := s.ProbeWrite(ctx); err != nil {
			t.Fatalf("probe of a healthy database: %v", err)
		}
		if after := version(); after == before {
			t.Fatalf("probe %d committed nothing (data_version stayed %d)", i, before)
		}
	}
}

// A database whose files the operating system refuses to change (chattr +i
// on the database and its log) fails the probe as it
// fails commits, and the probe succeeds again once the files are writable.
func TestProbeWriteFailsWhenTheFilesAreImmutable(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe of a healthy database: %v", err)
	}
	// Not the -shm file: SQLite maps it, and a write fault on an immutable
	// mapping is a SIGBUS, not an error (it killed the race run).
	files := []string{dbPath(t), dbPath(t) + "-wal"}
	chattr := func(flag string) error {
		out, err := exec.Command("chattr", append([]string{flag}, files...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("chattr %s: %v: %s", flag, err, out)
		}
		return nil
	}
	if err := chattr("+i"); err != nil {
		t.Skipf("cannot make the files immutable here (needs root and a file system with attributes): %v", err)
	}
	t.Cleanup(func() { _ = chattr("-i") })
	for i := 0; i < 2; i++ {
		err := s.ProbeWrite(ctx)
		if !errors.Is(err, store.ErrUnwritable) {
			t.Fatalf("probe %d of an immutable database: %v, want store.ErrUnwritable", i, err)
		}
	}
	if err := chattr("-i"); err != nil {
		t.Fatal(err)
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe once the files are writable again: %v", err)
	}
}
