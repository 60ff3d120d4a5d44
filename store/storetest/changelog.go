package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"allot/audit"
	"allot/store"
)

// The change log read back by followers (store.ChangeLog): skipped for a
// store that does not implement it.

func changeLogOf(t *testing.T, s store.Store) store.ChangeLog {
	t.Helper()
	cl, ok := s.(store.ChangeLog)
	if !ok {
		t.Skip("the store has no change log")
	}
	return cl
}

type logged struct {
	seq  int64
	muts []store.Mutation
}

func readChanges(t *testing.T, cl store.ChangeLog, tenant string, after int64) ([]logged, int64, error) {
	t.Helper()
	var out []logged
	last, err := cl.Changes(ctx(t), tenant, after, func(seq int64, muts []store.Mutation) error {
		out = append(out, logged{seq, muts})
		return nil
	})
	return out, last, err
}

// Commit numbers each change with mutations after the tenant's last, per
// tenant; a change without mutations gets 0. Changes gives them back in
// order after any number, LoadObjectsAt and LogSeq say the last.
func testChangeLogNumbersAndReadsBack(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	cl := changeLogOf(t, s)
	mustCreateTenant(t, s, "t1")
	mustCreateTenant(t, s, "t2")
	if seq, err := cl.LogSeq(ctx(t), "t1"); err != nil || seq != 0 {
		t.Fatalf("LogSeq of a tenant without records = %d, %v; want 0", seq, err)
	}
	if got, last, err := readChanges(t, cl, "t1", 0); err != nil || len(got) != 0 || last != 0 {
		t.Fatalf("Changes of a tenant without records = %v, %d, %v", got, last, err)
	}
	cs := []store.Change{
		{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u1", `{"n":1}`)}},
		{TenantID: "t2", Mutations: []store.Mutation{put(store.KindUser, "x", `{}`)}},
		{TenantID: "t1", Audit: []audit.Entry{entry(1)}},
		{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u1", `{"n":2}`), {Kind: store.KindUser, ID: "u0", Delete: true}}},
	}
	mustCommit(t, s, cs...)
	if cs[0].Seq != 1 || cs[1].Seq != 1 || cs[2].Seq != 0 || cs[3].Seq != 2 {
		t.Fatalf("Seq after Commit = %d %d %d %d, want 1 1 0 2", cs[0].Seq, cs[1].Seq, cs[2].Seq, cs[3].Seq)
	}
	c := []store.Change{{TenantID: "t1", Mutations: []store.Mutation{put(store.KindGroup, "g", `{}`)}}}
	mustCommit(t, s, c...)
	if c[0].Seq != 3 {
		t.Fatalf("Seq of the next commit = %d, want 3", c[0].Seq)
	}
	checkChangeLogReadsBack(t, cl)

}

// checkChangeLogReadsBack checks what testChangeLogNumbersAndReadsBack
// committed reads back: tenant t1 has records 1 to 3 (the second putting
// u1 and deleting u0) and two objects.
func checkChangeLogReadsBack(t *testing.T, cl store.ChangeLog) {
	t.Helper()
	got, last, err := readChanges(t, cl, "t1", 0)
	if err != nil || last != 3 || len(got) != 3 {
		t.Fatalf("Changes after 0 = %d records, last %d, %v; want 3, 3", len(got), last, err)
	}
	for i, g := range got {
		if g.seq != int64(i+1) {
			t.Fatalf("record %d has number %d", i, g.seq)
		}
	}
	if m := got[1].muts; len(m) != 2 || string(m[0].Body) != `{"n":2}` || !m[1].Delete || m[1].ID != "u0" {
		t.Fatalf("record 2 = %+v", m)
	}
	if got, last, err := readChanges(t, cl, "t1", 2); err != nil || len(got) != 1 || got[0].seq != 3 || last != 3 {
		t.Fatalf("Changes after 2 = %v, %d, %v", got, last, err)
	}
	if got, last, err := readChanges(t, cl, "t1", 3); err != nil || len(got) != 0 || last != 3 {
		t.Fatalf("Changes after the last = %v, %d, %v", got, last, err)
	}
	if _, _, err := readChanges(t, cl, "t1", 4); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("Changes after a number the log does not have = %v, want ErrCompacted", err)
	}
	if _, _, err := readChanges(t, cl, "nobody", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Changes of a missing tenant = %v, want ErrNotFound", err)
	}
	n := 0
	seq, err := cl.LoadObjectsAt(ctx(t), "t1", func(store.Object) error { n++; return nil })
	if err != nil || seq != 3 || n != 2 {
		t.Fatalf("LoadObjectsAt = %d objects at %d, %v; want 2 at 3", n, seq, err)
	}
	if seq, err := cl.LogSeq(ctx(t), "t1"); err != nil || seq != 3 {
		t.Fatalf("LogSeq = %d, %v; want 3", seq, err)
	}
	stop := fmt.Errorf("stop")
	if _, err := cl.Changes(ctx(t), "t1", 0, func(int64, []store.Mutation) error { return stop }); err != stop {
		t.Fatalf("Changes with fn failing = %v, want fn's error as it is", err)
	}
}

// Compaction and a bulk commit fold records into a snapshot: Changes after
// a number older than the snapshot is ErrCompacted, after the snapshot's
// number it goes on.
func testChangeLogCompactedPast(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	cl := changeLogOf(t, s)
	mustCreateTenant(t, s, "t1")
	for i := range 3 {
		mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, fmt.Sprint("u", i), `{}`)}})
	}
	if cp, ok := s.(store.Compactor); ok {
		if err := cp.Compact(ctx(t), "t1"); err != nil {
			t.Fatal(err)
		}
		mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u3", `{}`)}})
		if _, _, err := readChanges(t, cl, "t1", 1); !errors.Is(err, store.ErrCompacted) {
			t.Fatalf("Changes after 1 once compacted at 3 = %v, want ErrCompacted", err)
		}
		if got, last, err := readChanges(t, cl, "t1", 3); err != nil || len(got) != 1 || got[0].seq != 4 || last != 4 {
			t.Fatalf("Changes after the snapshot = %v, %d, %v", got, last, err)
		}
	}
	before, err := cl.LogSeq(ctx(t), "t1")
	if err != nil {
		t.Fatal(err)
	}
	next, _ := batches(bulkObjects(10), 10)
	if err := s.CommitBulk(ctx(t), store.Change{TenantID: "t1"}, next); err != nil {
		t.Fatal(err)
	}
	after, err := cl.LogSeq(ctx(t), "t1")
	if err != nil || after != before+1 {
		t.Fatalf("LogSeq after a bulk commit = %d, %v; want %d", after, err, before+1)
	}
	if _, _, err := readChanges(t, cl, "t1", before); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("Changes from before a bulk commit = %v, want ErrCompacted", err)
	}
	n := 0
	seq, err := cl.LoadObjectsAt(ctx(t), "t1", func(store.Object) error { n++; return nil })
	if err != nil || seq != after || n != 11+int(before) {
		t.Fatalf("LoadObjectsAt after the bulk commit = %d objects at %d, %v; want %d at %d", n, seq, err, 11+before, after)
	}
}

// statelogPartObjects is the most objects a snapshot part of the stores'
// layout holds (store/statelog.PartObjects), so that a bulk commit of a few
// times more makes a snapshot of several parts.
const statelogPartObjects = 8192

// A tuned load (store.TunedLoader) of a snapshot of several parts, with a
// record of the log after it that replaces one of its objects, gives the
// objects LoadObjectsAt gives, at the same number; each snapshot object
// prepared by the function NewPrepare made (on whichever goroutine), the
// replaced one not (its body is the log's). With Transient the caller
// copies what it keeps, as this one does. Skipped for a store that is not
// a TunedLoader.
func testTunedLoad(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	cl := changeLogOf(t, s)
	tl, ok := s.(store.TunedLoader)
	if !ok {
		t.Skip("the store's loads cannot be tuned")
	}
	mustCreateTenant(t, s, "t1")
	var objs []store.Object
	for i := range 3*statelogPartObjects + 10 {
		objs = append(objs, obj(store.KindLicense, fmt.Sprintf("u%06d/sku", i), fmt.Sprintf(`{"n":%d}`, i)))
	}
	next, _ := batches(objs)
	if err := s.CommitBulk(ctx(t), store.Change{TenantID: "t1"}, next); err != nil {
		t.Fatal(err)
	}
	replaced := fmt.Sprintf("u%06d/sku", 2*statelogPartObjects+5)
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindLicense, replaced, `{"n":"later"}`)}})
	type seen struct {
		kind           store.Kind
		id, body, prep string
	}
	var want []seen
	wantSeq, err := cl.LoadObjectsAt(ctx(t), "t1", func(o store.Object) error {
		want = append(want, seen{o.Kind, strings.Clone(o.ID), string(o.Body), "prepared " + string(o.Body)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []seen
	opts := store.LoadOptions{Transient: true, NewPrepare: func() func(*store.Object) {
		return func(o *store.Object) { o.Prepared = "prepared " + string(o.Body) }
	}}
	seq, err := tl.LoadObjectsTuned(ctx(t), "t1", opts, func(o store.Object) error {
		prep, _ := o.Prepared.(string)
		got = append(got, seen{o.Kind, strings.Clone(o.ID), string(o.Body), prep})
		return nil
	})
	if err != nil || seq != wantSeq {
		t.Fatalf("LoadObjectsTuned = %d, %v; LoadObjectsAt's number is %d", seq, err, wantSeq)
	}
	if len(got) != len(want) {
		t.Fatalf("a tuned load gave %d objects, LoadObjectsAt %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.id == replaced && g.kind == store.KindLicense {
			w.prep = "" // the log's body: not prepared
		}
		if g != w {
			t.Fatalf("object %d: a tuned load gave %+v, want %+v", i, g, w)
		}
	}
}
