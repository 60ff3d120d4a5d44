package sqlite_test

import (
	"allot/internal/testfile"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot/audit"
	"allot/store"
	"allot/store/sqlite"
)

// A database written by session 9's store (testdata/session10-heads.db.gz:
// main at db5902f, a program that committed through sqlite.Store — tenant
// "bulk": a bulk commit then records 2-5; "compacted": records 1-10, a
// compaction, records 11-13; "log": records 1-7; "empty": none) migrates
// (0009) to heads that keep only the snapshot, and everything its heads
// said is derived: each tenant's last number is the one its head row held,
// the next commit follows it, an audit seq it has is still refused, and a
// compaction and a reopen change nothing that loads.
func TestHeadsOfSession9MigrateToSnapshotOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	testfile.Gunzip(t, "testdata/session10-heads.db.gz", path)
	ctx := context.Background()

	old := session9Heads(t, path) // tenant → snapshot, last, bytes
	tenants := []string{"bulk", "compacted", "log", "empty"}

	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	checkSnapshotOnlyHeads(t, s, old["compacted"][0])
	loaded := map[string]string{}
	for _, id := range tenants {
		want := old[id][1] // 0 for "empty"
		got, err := s.LogSeq(ctx, id)
		objs, at := renderTenant(t, s, id)
		if err != nil || got != want || at != want {
			t.Fatalf("tenant %s: LogSeq %d (%v), loaded at %d; session 9's head said %d", id, got, err, at, want)
		}
		loaded[id] = objs
	}
	if !strings.Contains(loaded["bulk"], `user/b09={"b":9}`) || !strings.Contains(loaded["log"], `user/u00={"v":7}`) {
		t.Fatalf("loaded %v", loaded)
	}

	// The next commit of each tenant follows its last record; its audit
	// seq follows too. A seq a tenant has is refused, before and after
	// the writer knows the tenant.
	for _, id := range tenants {
		commitNextRefusingSeen(t, s, id, old[id][1]+1)
		loaded[id], _ = renderTenant(t, s, id)
	}

	// Reopened, compacted, reopened: the same numbers and objects.
	for round := range 3 {
		if round == 1 {
			for _, id := range tenants {
				if err := s.Compact(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = sqlite.Open(path); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range tenants {
			want := old[id][1] + 1
			objs, at := renderTenant(t, s, id)
			if got, err := s.LogSeq(ctx, id); err != nil || got != want || at != want || objs != loaded[id] {
				t.Fatalf("round %d, tenant %s: LogSeq %d (%v), loaded at %d, want %d; objects\n%s\nwant\n%s", round, id, got, err, at, want, objs, loaded[id])
			}
		}
	}
}

// commitNextRefusingSeen commits the tenant's change next (record and
// audit seq next) and checks that it is record next and that audit seqs
// the tenant has are refused: next, and for "log" 3 before the writer
// knows the tenant.
func commitNextRefusingSeen(t *testing.T, s *sqlite.Store, id string, next int64) {
	t.Helper()
	ctx := context.Background()
	if id == "log" {
		if err := s.Commit(ctx, []store.Change{headsChange(id, 3)}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("tenant %s: audit seq 3 again: %v, want ErrConflict", id, err)
		}
	}
	cs := []store.Change{headsChange(id, next)}
	if err := s.Commit(ctx, cs); err != nil {
		t.Fatalf("tenant %s: %v", id, err)
	}
	if cs[0].Seq != next {
		t.Fatalf("tenant %s: the next commit is record %d, want %d", id, cs[0].Seq, next)
	}
	if err := s.Commit(ctx, []store.Change{headsChange(id, next)}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("tenant %s: audit seq %d again: %v, want ErrConflict", id, next, err)
	}
}

// renderTenant loads the tenant's objects as one string, and the number
// they are as of.
func renderTenant(t *testing.T, s *sqlite.Store, tenant string) (string, int64) {
	t.Helper()
	var b strings.Builder
	seq, err := s.LoadObjectsAt(context.Background(), tenant, func(o store.Object) error {
		fmt.Fprintf(&b, "%s/%s=%s ", o.Kind, o.ID, o.Body)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), seq
}

// session9Heads reads the state_heads rows of a database of session 9.
func session9Heads(t *testing.T, path string) map[string][3]int64 {
	t.Helper()
	old := map[string][3]int64{}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT tenant_id, snapshot_seq, last_seq, log_bytes FROM state_heads`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var h [3]int64
		if err := rows.Scan(&id, &h[0], &h[1], &h[2]); err != nil {
			t.Fatal(err)
		}
		old[id] = h
	}
	if len(old) != 3 || old["compacted"][0] <= 0 || old["log"][0] != -1 || old["bulk"][0] != 1 {
		t.Fatalf("the fixture's heads are %v; want bulk, compacted and log", old)
	}
	return old
}

// checkSnapshotOnlyHeads checks that state_heads has the columns of
// migration 9 and a row for each snapshot (bulk's at 1, compacted's at
// compacted), none for a snapshot of -1.
func checkSnapshotOnlyHeads(t *testing.T, s *sqlite.Store, compacted int64) {
	t.Helper()
	cols, err := sqlite.WriterQueryString(s, `SELECT group_concat(name, ',') FROM pragma_table_info('state_heads')`)
	if err != nil || cols != "tenant_id,snapshot_seq" {
		t.Fatalf("state_heads after the migration has columns %q (%v)", cols, err)
	}
	snaps, err := sqlite.WriterQueryString(s, `SELECT group_concat(tenant_id || '=' || snapshot_seq, ',') FROM (SELECT * FROM state_heads ORDER BY tenant_id)`)
	if want := fmt.Sprintf("bulk=1,compacted=%d", compacted); err != nil || snaps != want {
		t.Fatalf("state_heads rows %q (%v), want %q (a snapshot of -1 is no row)", snaps, err, want)
	}
}

// headsChange puts user u0(k%7) with value k and an audit entry of seq k
// (what the fixture's program committed).
func headsChange(tenant string, k int64) store.Change {
	u := fmt.Sprintf("u%02d", k%7)
	return store.Change{TenantID: tenant,
		Mutations: []store.Mutation{{Kind: store.KindUser, ID: u, Body: []byte(fmt.Sprintf(`{"v":%d}`, k))}},
		Audit:     []audit.Entry{{Seq: k, At: time.Unix(1_700_000_000+k, 0), Actor: "gen", Action: "put", UserID: u}},
	}
}
