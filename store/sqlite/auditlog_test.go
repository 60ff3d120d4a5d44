package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/audit"
	"allot/internal/testfile"
	"allot/store"
	"allot/store/sqlite"
)

// pendingRecords is the number of t1's records whose audit entries are
// pending (not in audit_rows yet).
func pendingRecords(t *testing.T, s *sqlite.Store) int64 {
	t.Helper()
	n, err := sqlite.WriterQueryInt(s, strings.ReplaceAll(sqlite.PendingAuditSQL, "?1", "'t1'"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func auditRowCount(t *testing.T, s *sqlite.Store) int64 {
	t.Helper()
	n, err := sqlite.WriterQueryInt(s, `SELECT count(*) FROM audit_rows WHERE tenant_id = 't1'`)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A change with mutations carries its audit entries in its log record:
// the commit writes no audit row. Queries find them at once, before and
// after they are moved into audit_rows, and after a reopen, which moves
// what a closed store left pending.
func TestAuditRidesInTheLogRecord(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "allot.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	sqlite.PauseAuditIndex(s) // no background moves either
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	all := worldEntries(0, 12)
	for k := 0; k < len(all); k += 2 {
		c := store.Change{TenantID: "t1", Mutations: []store.Mutation{{Kind: store.KindUser, ID: fmt.Sprint(k), Body: []byte("{}")}}, Audit: slices.Clone(all[k : k+2])}
		if err := s.Commit(ctx, []store.Change{c}); err != nil {
			t.Fatal(err)
		}
	}
	if n := auditRowCount(t, s); n != 0 {
		t.Fatalf("%d audit rows after commits with mutations; want 0 (the entries ride in the records)", n)
	}
	if n := pendingRecords(t, s); n != 12 {
		t.Fatalf("%d records with pending entries; want 12", n)
	}
	w := wantFrom(all)
	sameAnswers(t, "pending", answers(t, s), w)
	if n, err := s.MaxAuditSeq(ctx, "t1"); err != nil || n != all[len(all)-1].Seq {
		t.Fatalf("MaxAuditSeq = %d, %v; want %d", n, err, all[len(all)-1].Seq)
	}
	// A seq that is pending is a conflict, and the commit changes nothing.
	dup := store.Change{TenantID: "t1", Mutations: []store.Mutation{{Kind: store.KindUser, ID: "dup", Body: []byte("{}")}}, Audit: []audit.Entry{all[3]}}
	if err := s.Commit(ctx, []store.Change{dup}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("commit of pending seq %d = %v; want ErrConflict", all[3].Seq, err)
	}
	if n := pendingRecords(t, s); n != 12 {
		t.Fatalf("%d records with pending entries after a refused commit; want 12", n)
	}

	if err := sqlite.MoveAudit(s); err != nil {
		t.Fatal(err)
	}
	if n := pendingRecords(t, s); n != 0 {
		t.Fatalf("%d records pending after a move; want 0", n)
	}
	if n := auditRowCount(t, s); n != 1 {
		t.Fatalf("%d audit rows after a move; want 1 (a tenant's pending entries in one row)", n)
	}
	sameAnswers(t, "moved", answers(t, s), w)
	if err := sqlite.CatchUpAuditIndex(s); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "moved and indexed", answers(t, s), w)

	// Entries left pending by a closed store are read by a reopened one and
	// moved by its first round.
	more := worldEntries(12, 4)
	for k := 0; k < len(more); k += 2 {
		c := store.Change{TenantID: "t1", Mutations: []store.Mutation{{Kind: store.KindUser, ID: fmt.Sprint(100 + k), Body: []byte("{}")}}, Audit: slices.Clone(more[k : k+2])}
		if err := s.Commit(ctx, []store.Change{c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := sqlite.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	w = wantFrom(append(slices.Clone(all), more...))
	sameAnswers(t, "read-only, pending", answers(t, ro), w)
	ro.Close()
	if s, err = sqlite.Open(path); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "reopened", answers(t, s), w)
	for deadline := time.Now().Add(10 * time.Second); pendingRecords(t, s) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the entries a closed store left pending were not moved after a reopen")
		}
	}
	sameAnswers(t, "reopened and moved", answers(t, s), w)

	// A change of more entries than a row holds rides in its record too;
	// moved, its entries are rows of at most 256.
	big := make([]audit.Entry, 300)
	for k := range big {
		big[k] = audit.Entry{Seq: 1000 + int64(k), At: auditBase, Actor: "admin@contoso", Action: "Add member to group", UserID: fmt.Sprintf("u%d", k%4)}
	}
	c := store.Change{TenantID: "t1", Mutations: []store.Mutation{{Kind: store.KindUser, ID: "big", Body: []byte("{}")}}, Audit: big}
	rows := auditRowCount(t, s) // nothing is pending (above); the store's own round may move the change at any time
	if err := s.Commit(ctx, []store.Change{c}); err != nil {
		t.Fatal(err)
	}
	w = wantFrom(append(append(slices.Clone(all), more...), canonical(big)...))
	sameAnswers(t, "a large change, pending or moved", answers(t, s), w)
	if err := sqlite.MoveAudit(s); err != nil {
		t.Fatal(err)
	}
	if n := auditRowCount(t, s); n != rows+2 {
		t.Fatalf("a change of 300 entries moved into %d rows; want 2", n-rows)
	}
	if most, err := sqlite.WriterQueryInt(s, `SELECT max(length(data)) FROM audit_rows`); err != nil || most > 64<<10 {
		t.Fatalf("the largest audit row has %d bytes (%v)", most, err)
	}
	sameAnswers(t, "a large change, moved", answers(t, s), w)
}

// canonical is es as QueryAudit returns them: the tenant set, times to
// the microsecond, Microsoft's names.
func canonical(es []audit.Entry) []audit.Entry {
	out := slices.Clone(es)
	for i := range out {
		out[i].TenantID = "t1"
		out[i].At = out[i].At.Truncate(time.Microsecond)
		audit.Canonical(&out[i])
	}
	return out
}

// A random mix of commits — with and without mutations, above the audit
// top and into the range of stored or pending entries, several changes in
// one commit, duplicates that must conflict — with moves, indexing,
// compactions and reopens in between: every query answers what the
// entries committed so far give, in Go.
func TestAuditPendingAndRowsAnswerAsOneLog(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { auditPendingWorld(t, seed) })
	}
}

func auditPendingWorld(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 21))
	path := filepath.Join(t.TempDir(), "allot.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	sqlite.PauseAuditIndex(s)
	for _, id := range []string{"t1", "t2"} {
		if err := s.CreateTenant(ctx, store.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	pool := worldEntries(0, 80) // change i: entries 2i, 2i+1
	used := make([]bool, 80)
	var model []audit.Entry
	next, obj := 0, 0
	change := func(i int, mutate bool) store.Change {
		c := store.Change{TenantID: "t1", Audit: slices.Clone(pool[2*i : 2*i+2])}
		if mutate {
			obj++
			c.Mutations = []store.Mutation{{Kind: store.KindUser, ID: fmt.Sprint(obj), Body: []byte("{}")}}
		}
		return c
	}
	other := func() store.Change { // t2's change, which t1's answers never see
		obj++
		return store.Change{TenantID: "t2", Mutations: []store.Mutation{{Kind: store.KindUser, ID: fmt.Sprint(obj), Body: []byte("{}")}},
			Audit: []audit.Entry{{Seq: int64(obj), At: auditBase, Actor: "x", Action: "y", UserID: "u1"}}}
	}
	commit := func(what string, cs []store.Change, is []int) {
		t.Helper()
		if err := s.Commit(ctx, cs); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, i := range is {
			used[i] = true
			model = append(model, pool[2*i], pool[2*i+1])
		}
	}
	for step := 0; step < 60; step++ {
		what := ""
		switch op := rng.IntN(10); {
		case op < 4 && next < 80: // in order, perhaps leaving a gap
			what = "in order"
			if rng.IntN(3) == 0 && next+1 < 80 {
				next++ // change next stays unused: a later commit goes below the top
			}
			n := 1 + rng.IntN(3)
			var cs []store.Change
			var is []int
			for ; n > 0 && next < 80; n-- {
				cs = append(cs, change(next, rng.IntN(4) > 0))
				is = append(is, next)
				next++
			}
			if rng.IntN(3) == 0 {
				cs = append(cs, other())
			}
			commit(what, cs, is)
		case op < 6: // below the top: an unused change under next
			var gaps []int
			for i := 0; i < next; i++ {
				if !used[i] {
					gaps = append(gaps, i)
				}
			}
			if len(gaps) == 0 {
				continue
			}
			what = "below the top"
			i := gaps[rng.IntN(len(gaps))]
			commit(what, []store.Change{change(i, rng.IntN(2) == 0)}, []int{i})
		case op == 6: // a seq the tenant has: a conflict that changes nothing
			var have []int
			for i := range used {
				if used[i] {
					have = append(have, i)
				}
			}
			if len(have) == 0 {
				continue
			}
			what = "conflict"
			c := change(have[rng.IntN(len(have))], rng.IntN(2) == 0)
			if err := s.Commit(ctx, []store.Change{c}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("step %d: commit of seq %d the tenant has = %v; want ErrConflict", step, c.Audit[0].Seq, err)
			}
		case op == 7:
			what = "move"
			if err := sqlite.MoveAudit(s); err != nil {
				t.Fatal(err)
			}
			if n := pendingRecords(t, s); n != 0 {
				t.Fatalf("step %d: %d records pending after a move", step, n)
			}
		case op == 8:
			what = "index and compact"
			if err := sqlite.CatchUpAuditIndex(s); err != nil {
				t.Fatal(err)
			}
			if err := s.Compact(ctx, "t1"); err != nil {
				t.Fatal(err)
			}
			if n := pendingRecords(t, s); n != 0 {
				t.Fatalf("step %d: %d records pending after a compaction", step, n)
			}
		default:
			what = "reopen"
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = sqlite.Open(path); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(2) == 0 {
				sqlite.PauseAuditIndex(s)
			}
		}
		disjointRows(t, s, fmt.Sprintf("step %d (%s)", step, what))
		// A sixth of the queries each step, in turn (all of them every six
		// steps and at the last): the race detector makes each slow.
		want := wantFrom(sortedBySeq(slices.Clone(model)))
		for i, q := range auditQueryCases() {
			if (i+step)%6 != 0 && step != 59 {
				continue
			}
			got, err := s.QueryAudit(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) > 0 || len(want[i]) > 0) && !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("step %d (%s), query %+v: got seqs %v, want %v", step, what, q, seqsOf(got), seqsOf(want[i]))
			}
		}
		var top int64
		for _, e := range model {
			top = max(top, e.Seq)
		}
		if n, err := s.MaxAuditSeq(ctx, "t1"); err != nil || n != top {
			t.Fatalf("step %d (%s): MaxAuditSeq = %d, %v; want %d", step, what, n, err, top)
		}
	}
}

// A tenant deleted with entries pending takes them along; made again, its
// new records' entries are pending and found (the deletion dropped its
// audit_moved row with its records).
func TestAuditPendingOfADeletedTenant(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sqlite.PauseAuditIndex(s)
	all := worldEntries(0, 8)
	commitAll := func(es []audit.Entry) {
		t.Helper()
		for k := 0; k < len(es); k += 2 {
			c := store.Change{TenantID: "t1", Mutations: []store.Mutation{{Kind: store.KindUser, ID: fmt.Sprint(k), Body: []byte("{}")}}, Audit: slices.Clone(es[k : k+2])}
			if err := s.Commit(ctx, []store.Change{c}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	commitAll(all)
	if err := sqlite.MoveAudit(s); err != nil {
		t.Fatal(err)
	}
	commitAll(worldEntries(8, 4)) // pending, after a move
	if err := s.DeleteTenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "made again", answers(t, s), wantFrom(nil))
	again := worldEntries(0, 3)
	commitAll(again)
	if n := pendingRecords(t, s); n != 3 {
		t.Fatalf("%d records pending in the tenant made again; want 3", n)
	}
	sameAnswers(t, "made again, pending", answers(t, s), wantFrom(again))
	if err := sqlite.MoveAudit(s); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "made again, moved", answers(t, s), wantFrom(again))
}

func seqsOf(es []audit.Entry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

// disjointRows fails unless t1's audit rows have disjoint seq ranges.
func disjointRows(t *testing.T, s *sqlite.Store, what string) {
	t.Helper()
	n, err := sqlite.WriterQueryInt(s, `SELECT count(*) FROM (SELECT first_seq, last_seq,
		lag(last_seq) OVER (ORDER BY first_seq) AS prev FROM audit_rows WHERE tenant_id = 't1')
		WHERE prev >= first_seq OR last_seq < first_seq`)
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		t.Fatalf("%s: %d audit rows overlap the one before or end before they start", what, n)
	}
}

// A database of an earlier version (session 9's, testdata) migrates with
// every tenant's stored records counted as moved: none is pending, so no
// query or commit looks through the records stored before.
func TestAuditMigrationStartsWithNothingPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	testfile.Gunzip(t, "testdata/session10-heads.db.gz", path)
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"bulk", "compacted", "log"} {
		last, err := s.LogSeq(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		moved, err := sqlite.WriterQueryInt(s, fmt.Sprintf(`SELECT coalesce((SELECT seq FROM audit_moved WHERE tenant_id = '%s'), -1)`, id))
		if err != nil {
			t.Fatal(err)
		}
		pending, err := sqlite.WriterQueryInt(s, strings.ReplaceAll(sqlite.PendingAuditSQL, "?1", "'"+id+"'"))
		if err != nil {
			t.Fatal(err)
		}
		stored, err := sqlite.WriterQueryInt(s, fmt.Sprintf(`SELECT coalesce(max(seq), 0) FROM state_changes WHERE tenant_id = '%s'`, id))
		if err != nil {
			t.Fatal(err)
		}
		if stored == 0 || moved != stored || pending != 0 {
			t.Errorf("tenant %s: records up to %d (log at %d), moved up to %d, %d pending; want all stored records moved, none pending", id, stored, last, moved, pending)
		}
	}
}
