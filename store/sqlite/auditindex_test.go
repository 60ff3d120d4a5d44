package sqlite_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"allot/audit"
	"allot/store"
	"allot/store/sqlite"
)

var auditBase = time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)

// commitAuditWorld commits changes from..from+n-1 of tenant t1 (two
// entries each: users, groups, SKUs, actors under a legacy name, times)
// and t2, a few changes per commit.
func commitAuditWorld(t *testing.T, s *sqlite.Store, from, n int) {
	t.Helper()
	var changes []store.Change
	flush := func() {
		if err := s.Commit(context.Background(), changes); err != nil {
			t.Fatal(err)
		}
		changes = nil
	}
	for i := from; i < from+n; i++ {
		seq := int64(2*i + 1)
		actor := "admin@contoso"
		if i%3 == 0 {
			actor = "group-based licensing" // legacy: Canonical and Aliases apply
		}
		at := auditBase.Add(time.Duration(i) * time.Minute)
		changes = append(changes, store.Change{TenantID: "t1", Audit: []audit.Entry{
			{Seq: seq, At: at, Actor: actor, Action: "Add member to group", UserID: fmt.Sprintf("u%d", i%4), GroupID: fmt.Sprintf("g%d", i%3)},
			{Seq: seq + 1, At: at.Add(time.Microsecond), Actor: audit.ActorGroupLicensing, Action: audit.ActivityChangeUserLicense,
				UserID: fmt.Sprintf("u%d", i%4), GroupID: fmt.Sprintf("g%d", i%3), SKUID: fmt.Sprintf("s%d", i%2), Why: "member added", Detail: "before: none"},
		}})
		changes = append(changes, store.Change{TenantID: "t2", Audit: []audit.Entry{{Seq: int64(i + 1), At: at, Actor: "x", Action: "y", UserID: "u1", GroupID: "g1", SKUID: "s1"}}})
		if len(changes) >= 6 {
			flush()
		}
	}
	flush()
}

// auditQueryCases are queries over every filter, order, page size and
// Seq bound.
func auditQueryCases() []audit.Query {
	var qs []audit.Query
	for _, q := range []audit.Query{
		{}, {UserID: "u1"}, {GroupID: "g2"}, {SKUID: "s0"}, {UserID: "u2", SKUID: "s0"}, {UserID: "nobody"},
		{Activity: audit.ActivityChangeUserLicense}, {Actor: audit.ActorGroupLicensing}, {UserID: "u3", Actor: "admin@contoso"},
		{From: auditBase.Add(5 * time.Minute)}, {To: auditBase.Add(7*time.Minute + 500)}, {From: auditBase.Add(3 * time.Minute), To: auditBase.Add(29 * time.Minute), GroupID: "g1"},
		{From: auditBase.Add(3 * time.Minute), To: auditBase.Add(29 * time.Minute)},
		{AfterSeq: 10}, {BeforeSeq: 20}, {AfterSeq: 5, BeforeSeq: 50, UserID: "u3"},
	} {
		for _, newest := range []bool{false, true} {
			for _, limit := range []int{0, 3, 7} {
				q.TenantID, q.Newest, q.Limit = "t1", newest, limit
				qs = append(qs, q)
			}
		}
	}
	return qs
}

func answers(t *testing.T, s store.Store) [][]audit.Entry {
	t.Helper()
	var out [][]audit.Entry
	for _, q := range auditQueryCases() {
		es, err := s.QueryAudit(context.Background(), q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		out = append(out, es)
	}
	return out
}

// want computes every case's answer from all the entries, in Go.
func want(t *testing.T, s store.Store) [][]audit.Entry {
	t.Helper()
	all, err := s.QueryAudit(context.Background(), audit.Query{TenantID: "t1", Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return wantFrom(all)
}

// wantFrom computes every case's answer from t1's entries all (with
// Microsoft's names), in Go.
func wantFrom(all []audit.Entry) [][]audit.Entry {
	var out [][]audit.Entry
	for _, q := range auditQueryCases() {
		var es []audit.Entry
		for _, e := range all {
			if ok := (q.UserID == "" || e.UserID == q.UserID) && (q.GroupID == "" || e.GroupID == q.GroupID) &&
				(q.SKUID == "" || e.SKUID == q.SKUID) && (q.Activity == "" || e.Action == q.Activity) &&
				(q.Actor == "" || e.Actor == q.Actor) && (q.From.IsZero() || !e.At.Before(q.From)) &&
				(q.To.IsZero() || e.At.Before(q.To)) && (q.AfterSeq == 0 || e.Seq > q.AfterSeq) &&
				(q.BeforeSeq == 0 || e.Seq < q.BeforeSeq); ok {
				es = append(es, e)
			}
		}
		sort.Slice(es, func(i, j int) bool { return (es[i].Seq < es[j].Seq) != q.Newest })
		limit := q.Limit
		if limit <= 0 {
			limit = 1000
		}
		out = append(out, es[:min(limit, len(es))])
	}
	return out
}

func sameAnswers(t *testing.T, what string, got, want [][]audit.Entry) {
	t.Helper()
	qs := auditQueryCases()
	for i := range qs {
		if len(got[i]) == 0 && len(want[i]) == 0 {
			continue
		}
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s, query %+v:\n got  %v\n want %v", what, qs[i], got[i], want[i])
		}
	}
}

// Audit queries answer the same whether the index file holds none, some
// or all of the rows, and on a read-only store with or without the file.
func TestAuditIndexAnswersAsTheTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sqlite.PauseAuditIndex(s)
	commitAuditWorld(t, s, 0, 12)
	if n, err := sqlite.AuditIndexProgress(s); err != nil || n != 0 {
		t.Fatalf("progress %d, %v before any round; want 0", n, err)
	}
	w := want(t, s)
	nonEmpty := 0
	for _, es := range w {
		if len(es) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < len(w)-6 { // only the "nobody" cases may be empty
		t.Fatalf("the world answers only %d of %d queries", nonEmpty, len(w))
	}
	sameAnswers(t, "nothing indexed", answers(t, s), w)

	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	commitAuditWorld(t, s, 12, 12)
	w = want(t, s)
	sameAnswers(t, "half indexed", answers(t, s), w)
	ro, err := sqlite.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "read-only, half indexed", answers(t, ro), w)
	ro.Close()

	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	// 8 commits of 3 changes of each tenant: a row of each per commit.
	if n, err := sqlite.AuditIndexProgress(s); err != nil || n != 8*2 {
		t.Fatalf("progress %d, %v after catching up; want %d (every row)", n, err, 8*2)
	}
	sameAnswers(t, "all indexed", answers(t, s), w)
	if err := os.Rename(sqlite.AuditIndexPath(path), sqlite.AuditIndexPath(path)+".away"); err != nil {
		t.Fatal(err)
	}
	if ro, err = sqlite.OpenReadOnly(path); err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	sameAnswers(t, "read-only, no index file", answers(t, ro), w)
}

// An index file that is not the database's is built again: none, one of
// another database, one ahead of the database (a restored backup).
func TestAuditIndexIsRebuiltWhenNotTheDatabases(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "allot.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	commitAuditWorld(t, s, 0, 6)
	backup := filepath.Join(dir, "backup.db")
	if err := s.Backup(context.Background(), backup); err != nil {
		t.Fatal(err)
	}
	commitAuditWorld(t, s, 6, 6)
	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	wantAll := want(t, s)
	s.Close()
	other := filepath.Join(dir, "other.db")
	o, err := sqlite.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	commitAuditWorld(t, o, 0, 30)
	if err := sqlite.CatchUpAuditIndex(o); err != nil {
		t.Fatal(err)
	}
	o.Close()

	reopen := func(db, what string, wantProgress int64, w [][]audit.Entry) {
		t.Helper()
		s, err := sqlite.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sqlite.PauseAuditIndex(s)
		if n, err := sqlite.AuditIndexProgress(s); err != nil || n != 0 {
			t.Fatalf("%s: progress %d, %v at open; want 0 (emptied)", what, n, err)
		}
		sameAnswers(t, what+", emptied", answers(t, s), w)
		if err := sqlite.CatchUpAuditIndex(s); err != nil {
			t.Fatal(err)
		}
		if n, _ := sqlite.AuditIndexProgress(s); n != wantProgress {
			t.Fatalf("%s: progress %d after catching up, want %d", what, n, wantProgress)
		}
		sameAnswers(t, what+", rebuilt", answers(t, s), w)
	}
	copyFile(t, sqlite.AuditIndexPath(other), sqlite.AuditIndexPath(path))
	// 4 commits of 3 changes of each tenant: a row of each per commit.
	reopen(path, "another database's index", 8, wantAll)

	// The backup beside the newer index file of its own database.
	copyFile(t, sqlite.AuditIndexPath(path), sqlite.AuditIndexPath(backup))
	b, err := sqlite.Open(backup)
	if err != nil {
		t.Fatal(err)
	}
	wantBackup := want(t, b)
	b.Close()
	if len(wantBackup[0]) != 12 {
		t.Fatalf("the backup has %d entries of t1, want 12", len(wantBackup[0]))
	}
	copyFile(t, sqlite.AuditIndexPath(path), sqlite.AuditIndexPath(backup))
	reopen(backup, "a restored backup beside a newer index", 4, wantBackup)

	if err := os.Remove(sqlite.AuditIndexPath(path)); err != nil {
		t.Fatal(err)
	}
	reopen(path, "no index file", 8, wantAll)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, sfx := range []string{"-wal", "-shm"} {
		os.Remove(to + sfx)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A database written before the index file existed (schema 5: audit with
// its indexes in the same file) opens with every entry, answering as it
// did.
func TestAuditMigratesToTheIndexFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("migrations/000[1-5]_*.sql")
	if len(files) != 5 {
		t.Fatalf("migrations 1-5: %v", files)
	}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, i+1, filepath.Base(f)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		_, err := db.Exec(`INSERT INTO audit (tenant_id, seq, at, actor, action, user_id, group_id, sku_id, why, detail) VALUES ('t1', ?, ?, 'a', 'b', ?, NULL, NULL, '', '')`,
			i+1, auditBase.Add(time.Duration(i)*time.Second).UnixMicro(), fmt.Sprintf("u%d", i%5))
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	es, err := s.QueryAudit(context.Background(), audit.Query{TenantID: "t1", UserID: "u3", Newest: true})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, e := range es {
		seqs = append(seqs, e.Seq)
	}
	if !reflect.DeepEqual(seqs, []int64{39, 34, 29, 24, 19, 14, 9, 4}) {
		t.Fatalf("u3's entries after the migration: %v", seqs)
	}
	if err := s.Commit(context.Background(), []store.Change{{TenantID: "t1", Audit: []audit.Entry{{Seq: 41, At: time.Now(), Actor: "a", Action: "b", UserID: "u3"}}}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.MaxAuditSeq(context.Background(), "t1"); n != 41 {
		t.Fatalf("MaxAuditSeq %d, want 41", n)
	}
}

// worldEntries are the entries commitAuditWorld commits to t1 for
// from..from+n-1, as QueryAudit returns them.
func worldEntries(from, n int) []audit.Entry {
	var es []audit.Entry
	for i := from; i < from+n; i++ {
		seq := int64(2*i + 1)
		actor := "admin@contoso"
		if i%3 == 0 {
			actor = audit.ActorGroupLicensing
		}
		at := auditBase.Add(time.Duration(i) * time.Minute).Truncate(time.Microsecond)
		es = append(es,
			audit.Entry{TenantID: "t1", Seq: seq, At: at, Actor: actor, Action: "Add member to group", UserID: fmt.Sprintf("u%d", i%4), GroupID: fmt.Sprintf("g%d", i%3)},
			audit.Entry{TenantID: "t1", Seq: seq + 1, At: at.Add(time.Microsecond), Actor: audit.ActorGroupLicensing, Action: audit.ActivityChangeUserLicense,
				UserID: fmt.Sprintf("u%d", i%4), GroupID: fmt.Sprintf("g%d", i%3), SKUID: fmt.Sprintf("s%d", i%2), Why: "member added", Detail: "before: none"})
	}
	return es
}

// Entries committed out of order (into the seq range of stored rows,
// indexed or not) answer as if committed in order; a seq the tenant has,
// in any row, is a conflict and changes nothing.
func TestAuditOutOfOrderCommitsAnswerTheSame(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sqlite.PauseAuditIndex(s)
	all := worldEntries(0, 24)
	var odd, even []audit.Entry // by i: every other change
	for k := 0; k < len(all); k += 2 {
		if k/2%2 == 0 {
			even = append(even, all[k], all[k+1])
		} else {
			odd = append(odd, all[k], all[k+1])
		}
	}
	commit := func(es []audit.Entry) error {
		return s.Commit(context.Background(), []store.Change{{TenantID: "t1", Audit: es}})
	}
	// The even changes in two rows, indexed; the odd ones fall in their
	// ranges, some in one commit with entries out of order.
	for _, es := range [][]audit.Entry{even[:12], even[12:]} {
		if err := commit(es); err != nil {
			t.Fatal(err)
		}
	}
	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	if err := commit([]audit.Entry{odd[3], odd[2], odd[1], odd[0]}); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "merged into an indexed row, not indexed", answers(t, s), wantFrom(sortedBySeq(append(slices.Clone(even), odd[:4]...))))
	for _, dup := range [][]audit.Entry{{odd[4], even[5]}, {odd[4], odd[1]}, {odd[4], odd[4]}} {
		if err := commit(dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("commit of seqs %d, %d = %v, want ErrConflict", dup[0].Seq, dup[1].Seq, err)
		}
	}
	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	if err := commit(odd[4:]); err != nil {
		t.Fatal(err)
	}
	w := wantFrom(all)
	sameAnswers(t, "partly indexed", answers(t, s), w)
	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "indexed", answers(t, s), w)
	if n, err := s.MaxAuditSeq(context.Background(), "t1"); err != nil || n != all[len(all)-1].Seq {
		t.Fatalf("MaxAuditSeq = %d, %v; want %d", n, err, all[len(all)-1].Seq)
	}
}

func sortedBySeq(es []audit.Entry) []audit.Entry {
	slices.SortFunc(es, func(a, b audit.Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	return es
}

// A deleted tenant's rows leave their ids unused: rows committed after the
// deletion (the tenant made again, or another) are indexed and found.
func TestAuditDeletedTenantsIDsAreNotGivenAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sqlite.PauseAuditIndex(s)
	ctx := context.Background()
	for _, id := range []string{"t0", "t1"} {
		if err := s.CreateTenant(ctx, store.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	commitAuditWorld(t, s, 0, 12) // t1's rows have the highest ids
	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	before, _ := sqlite.AuditIndexProgress(s)
	for round := range 2 {
		if err := s.DeleteTenant(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTenant(ctx, store.Tenant{ID: "t1"}); err != nil {
			t.Fatal(err)
		}
		if es, err := s.QueryAudit(ctx, audit.Query{TenantID: "t1", UserID: "u1"}); err != nil || len(es) != 0 {
			t.Fatalf("round %d: the deleted tenant's entries: %v, %v", round, es, err)
		}
		if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Audit: worldEntries(0, 1)}}); err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, fmt.Sprintf("round %d: made again, not indexed", round), answers(t, s), wantFrom(worldEntries(0, 1)))
		if err := sqlite.CatchUpAuditIndex(s); err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, fmt.Sprintf("round %d: made again, indexed", round), answers(t, s), wantFrom(worldEntries(0, 1)))
		after, _ := sqlite.AuditIndexProgress(s)
		if after != before+1 {
			t.Fatalf("round %d: progress %d after one more row, want %d (ids after the deleted ones)", round, after, before+1)
		}
		before = after
		if err := s.DeleteTenant(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTenant(ctx, store.Tenant{ID: "t1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Audit: worldEntries(0, 12)}}); err != nil {
			t.Fatal(err)
		}
		if err := sqlite.CatchUpAuditIndex(s); err != nil {
			t.Fatal(err)
		}
		before++
	}
	// Reopened, the index file is still the database's.
	s.Close()
	if s, err = sqlite.Open(path); err != nil {
		t.Fatal(err)
	}
	sqlite.PauseAuditIndex(s)
	if n, _ := sqlite.AuditIndexProgress(s); n != before {
		t.Fatalf("progress %d after reopening, want %d (kept)", n, before)
	}
	sameAnswers(t, "reopened", answers(t, s), wantFrom(worldEntries(0, 12)))
}

// A database of layout 6 (one audit row per entry, schema migrations 1-6)
// migrates to audit_rows keeping every entry: every query answers as the
// entries say, before and after the index file takes them, and the log
// goes on.
func TestAuditMigratesEntryRowsToAuditRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("migrations/000[1-6]_*.sql")
	if len(files) != 6 {
		t.Fatalf("migrations 1-6: %v", files)
	}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, i+1, filepath.Base(f)); err != nil {
			t.Fatal(err)
		}
	}
	// t1's entries (600: more than a row holds), stored in an order other
	// than seq's and with the legacy actor name; t2's and t3's beside.
	all := worldEntries(0, 300)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	insert := func(tenant string, e audit.Entry) {
		t.Helper()
		actor := e.Actor
		if actor == audit.ActorGroupLicensing && e.Seq%4 == 1 {
			actor = "group-based licensing"
		}
		_, err := tx.Exec(`INSERT INTO audit (tenant_id, seq, at, actor, action, user_id, group_id, sku_id, why, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tenant, e.Seq, e.At.UnixMicro(), actor, e.Action, nullIfEmpty(e.UserID), nullIfEmpty(e.GroupID), nullIfEmpty(e.SKUID), e.Why, e.Detail)
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := len(all) - 1; k >= 0; k -= 2 {
		insert("t1", all[k])
		insert("t2", all[k])
	}
	for k := 0; k < len(all); k += 2 {
		insert("t1", all[k])
		insert("t3", all[k])
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sqlite.PauseAuditIndex(s)
	w := wantFrom(all)
	sameAnswers(t, "migrated, not indexed", answers(t, s), w)
	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "migrated, indexed", answers(t, s), w)
	for tenant, n := range map[string]int{"t1": 600, "t2": 300, "t3": 300} {
		es, err := s.QueryAudit(context.Background(), audit.Query{TenantID: tenant, Limit: 1000})
		if err != nil || len(es) != n {
			t.Fatalf("%s: %d entries, %v; want %d", tenant, len(es), err, n)
		}
	}
	next := worldEntries(300, 1)
	if err := s.Commit(context.Background(), []store.Change{{TenantID: "t1", Audit: next}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(context.Background(), []store.Change{{TenantID: "t1", Audit: all[5:6]}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a migrated seq again: %v, want ErrConflict", err)
	}
	if n, _ := s.MaxAuditSeq(context.Background(), "t1"); n != next[1].Seq {
		t.Fatalf("MaxAuditSeq %d, want %d", n, next[1].Seq)
	}
	sameAnswers(t, "migrated, then a commit", answers(t, s), wantFrom(append(all, next...)))
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// An entry merged into the tenant's highest, indexed row is found by its
// user before and after the index file takes the merged row (the merged
// row's id is a new one, never the old row's).
func TestAuditMergeIntoTheHighestIndexedRow(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sqlite.PauseAuditIndex(s)
	ctx := context.Background()
	e := func(seq int64, user string) audit.Entry {
		return audit.Entry{Seq: seq, At: auditBase, Actor: "a", Action: "b", UserID: user}
	}
	if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Audit: []audit.Entry{e(10, "u1"), e(20, "u1")}}}); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Audit: []audit.Entry{e(15, "u2")}}}); err != nil {
		t.Fatal(err)
	}
	for _, when := range []string{"merged, not indexed", "merged, indexed"} {
		es, err := s.QueryAudit(ctx, audit.Query{TenantID: "t1", UserID: "u2"})
		if err != nil || len(es) != 1 || es[0].Seq != 15 {
			t.Fatalf("%s: u2's entries %v, %v; want seq 15", when, es, err)
		}
		if err := sqlite.CatchUpAuditIndex(s); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := sqlite.AuditIndexProgress(s); n != 2 {
		t.Fatalf("progress %d, want 2 (the merged row has id 2)", n)
	}
}
