package tenant

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

// encodedEngine is the synthetic import plus users and groups whose ids
// hold a byte below '/' ("u" and "u-1": the joined keys "u-1/…" sort
// before "u/…", the pairs the other way round) and a nested group, so
// that both the in-order and the sorted path of keyOrder are taken.
func encodedEngine(t *testing.T) *licensing.Engine {
	t.Helper()
	e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	op := licensing.Op{Actor: "test"}
	if _, err := e.Import(op, importData(t)); err != nil {
		t.Fatal(err)
	}
	e3 := sku(t, "SPE_E3")
	for _, id := range []string{"u", "u-1", "u.2"} {
		if err := e.PutUser(op, licensing.User{ID: id, UserPrincipalName: id + "@contoso.example", UsageLocation: "US", AccountEnabled: true}); err != nil {
			t.Fatal(err)
		}
		if err := e.AssignUserLicenses(op, id, []licensing.AssignedLicense{{SKUID: e3}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"g", "g-1"} {
		if err := e.PutGroup(op, licensing.Group{ID: id, DisplayName: id, SecurityEnabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.AddMembers(op, "g", []string{"u", "u-1", "g-1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.AddMembers(op, "g-1", []string{"u.2"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// wantRecords is every record of e encoded one by one from the engine's
// queries, sorted by key: what encodeRecords must stream.
func wantRecords(e *licensing.Engine) []store.Object {
	var objs []store.Object
	put := func(kind store.Kind, id string, body []byte) {
		objs = append(objs, store.Object{Kind: kind, ID: id, Body: body})
	}
	e.ForEachUserLicenses(func(u *licensing.User, ls licensing.UserLicenses) bool {
		put(store.KindUser, u.ID, licensing.AppendUserBinary(nil, u))
		for _, l := range e.DirectLicenses(u.ID) {
			put(store.KindDirectLicense, u.ID+"/"+poolKey(l), licensing.AppendLicenseSourceBinary(nil, &l))
		}
		for i := range ls.Len() {
			l := ls.At(i)
			put(store.KindLicense, u.ID+"/"+ls.PoolKey(i), licensing.AppendLicenseBinary(nil, &l))
		}
		return true
	})
	for _, id := range e.GroupIDs() {
		g, _ := e.Group(id)
		put(store.KindGroup, id, licensing.AppendGroupBinary(nil, &g))
		for _, l := range e.GroupLicenses(id) {
			put(store.KindGroupLicense, id+"/"+poolKey(l), licensing.AppendLicenseSourceBinary(nil, &l))
		}
		us, gs := e.Members(id)
		for _, u := range us {
			put(store.KindMember, id+"/"+u, userMemberBody)
		}
		for _, c := range gs {
			put(store.KindMember, id+"/"+c, groupMemberBody)
		}
	}
	slices.SortFunc(objs, func(a, b store.Object) int {
		return cmp.Or(strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.ID, b.ID))
	})
	return objs
}

// encodeRecords streams every record of the engine once, in key order,
// with the body its codec gives, in batches of at most streamBatch, with
// one worker or several, batches freed and reused: license records and
// memberships read run by run from the engine when their runs are in key
// order (the synthetic import), and sorted when they are not
// (encodedEngine).
func TestEncodeRecordsStreamsEveryRecordInKeyOrder(t *testing.T) {
	plain := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	if _, err := plain.Import(licensing.Op{Actor: "test"}, importData(t)); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*licensing.Engine{plain, encodedEngine(t)} {
		users := sortedUsers(e)
		licenses := licenseRuns(users)
		members := gatherMembers(e, e.GroupIDs(), users).runs()
		_, lok := licenses.batches(streamBatch)
		_, mok := members.batches(streamBatch)
		if sorted := e != plain; lok == sorted || mok == sorted {
			t.Fatalf("sorted path %v: the runs of licenses and members are in key order: %v, %v", sorted, lok, mok)
		}
		testEncodeRecords(t, e)
	}
}

func testEncodeRecords(t *testing.T, e *licensing.Engine) {
	want := wantRecords(e)
	if len(want) < 3*streamBatch {
		t.Fatalf("only %d records: too few for several batches", len(want))
	}
	for _, workers := range []int{1, 3} {
		var got []store.Object
		if err := encodeRecords(e, workers, func(b *recBatch) bool {
			if len(b.objs) == 0 || len(b.objs) > streamBatch {
				t.Fatalf("%d workers: a batch of %d objects", workers, len(b.objs))
			}
			for _, o := range b.objs {
				got = append(got, store.Object{Kind: o.Kind, ID: strings.Clone(o.ID), Body: bytes.Clone(o.Body)})
			}
			b.free() // its memory serves the next batches
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d workers: %d objects streamed, want %d", workers, len(got), len(want))
		}
		for i := range want {
			if got[i].Kind != want[i].Kind || got[i].ID != want[i].ID || !bytes.Equal(got[i].Body, want[i].Body) {
				t.Fatalf("%d workers: object %d is %s %q, want %s %q (or its body differs)", workers, i, got[i].Kind, got[i].ID, want[i].Kind, want[i].ID)
			}
		}
	}
}

// A consumer that stops ends encodeRecords with errStopped, and no batch
// is handed to it after it stopped.
func TestEncodeRecordsStopsWithItsConsumer(t *testing.T) {
	e := encodedEngine(t)
	for _, workers := range []int{1, 3} {
		calls := 0
		err := encodeRecords(e, workers, func(*recBatch) bool {
			calls++
			return calls < 3
		})
		if err != errStopped || calls != 3 {
			t.Fatalf("%d workers: err %v after %d calls, want errStopped after 3", workers, err, calls)
		}
	}
}

// Runs whose order is promised are cut where the checked walk cuts them,
// for any run sizes (empty runs, runs longer than a batch, a total that
// is a multiple of the batch or not).
func TestOrderedRunsCutLikeTheCheckedWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 16))
	for trial := range 200 {
		sizes := make([]int, rng.IntN(40))
		for i := range sizes {
			sizes[i] = rng.IntN(4) * rng.IntN(9) // many empty, some long
		}
		rs := pairRuns{
			n:    len(sizes),
			a:    func(i int) string { return fmt.Sprintf("a%04d", i) },
			size: func(i int) int { return sizes[i] },
			b:    func(i, j int) string { return fmt.Sprintf("b%04d", j) },
		}
		size := 1 + rng.IntN(7)
		want, ok := rs.batches(size)
		if !ok {
			t.Fatalf("trial %d: the checked walk finds ordered runs out of order", trial)
		}
		rs.ordered = true
		got, _ := rs.batches(size)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: sizes %v, batch %d: ordered starts %v, checked walk's %v", trial, sizes, size, got, want)
		}
	}
}

// The ids alone tell whether "id/x" keys keep the users' order: not when an
// id is a prefix of the next followed by a byte up to '/'.
func TestIDsJoinInOrder(t *testing.T) {
	for _, c := range []struct {
		ids  []string
		want bool
	}{
		{[]string{"0f7c1a3e-0000-4000-8000-000000000001", "0f7c1a3e-0000-4000-8000-000000000002"}, true},
		{[]string{"u", "u0", "ua"}, true},
		{[]string{"u", "u-1"}, false}, // "u/x" sorts after "u-1/x"
		{[]string{"u", "u/1"}, false}, // depends on x
		{[]string{"u", "v-1", "v0"}, true},
		{[]string{"b", "a"}, false},
		{[]string{"a", "a"}, false},
		{nil, true},
	} {
		users := make([]userRef, len(c.ids))
		for i, id := range c.ids {
			users[i].id = id
		}
		if got := idsJoinInOrder(users); got != c.want {
			t.Errorf("idsJoinInOrder(%q) = %v, want %v", c.ids, got, c.want)
		}
		// The promise agrees with the keys themselves, for every suffix.
		if len(c.ids) > 1 && c.want {
			for _, x := range []string{"", "0", "~", "!"} {
				for i := 1; i < len(c.ids); i++ {
					if c.ids[i-1]+"/"+x >= c.ids[i]+"/" {
						t.Errorf("%q: %q does not sort before %q", c.ids, c.ids[i-1]+"/"+x, c.ids[i]+"/")
					}
				}
			}
		}
	}
}
