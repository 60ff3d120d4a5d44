package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"allot/audit"
	"allot/store"
)

func testCommitThenGetObject(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{
		put(store.KindUser, "u1", `{"displayName":"Ada"}`),
		put(store.KindGroup, "g1", `{"displayName":"Sales"}`),
	}})
	o, err := s.GetObject(ctx(t), "t1", store.KindUser, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if o.Kind != store.KindUser || o.ID != "u1" || string(o.Body) != `{"displayName":"Ada"}` {
		t.Fatalf("GetObject = %+v", o)
	}
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u1", `{"displayName":"Ada L"}`)}})
	o, err = s.GetObject(ctx(t), "t1", store.KindUser, "u1")
	if err != nil || string(o.Body) != `{"displayName":"Ada L"}` {
		t.Fatalf("GetObject after update = %s, %v", o.Body, err)
	}
}

func testMissingObjectIsNotFound(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u1", `{}`)}})
	for _, k := range []struct {
		tenant string
		kind   store.Kind
		id     string
	}{{"t1", store.KindUser, "u2"}, {"t1", store.KindGroup, "u1"}, {"t2", store.KindUser, "u1"}} {
		if _, err := s.GetObject(ctx(t), k.tenant, k.kind, k.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetObject(%v) = %v, want ErrNotFound", k, err)
		}
	}
}

func testLoadObjectsOrdered(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	var want []store.Object
	for _, k := range []store.Kind{store.KindUser, store.KindGroup, store.KindMember, store.KindLicense, "Zeta"} {
		for _, id := range []string{"b", "a", "B", "a/b", "a0", "A", "10", "9", "ä", "a b"} {
			want = append(want, obj(k, id, fmt.Sprintf(`{"k":%q,"id":%q}`, k, id)))
		}
	}
	shuffled := slices.Clone(want)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var ms []store.Mutation
	for _, o := range shuffled {
		ms = append(ms, store.Mutation{Kind: o.Kind, ID: o.ID, Body: o.Body})
	}
	// Split over two commits, so that order does not come from one insert.
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: ms[:len(ms)/2]})
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: ms[len(ms)/2:]})
	slices.SortFunc(want, func(a, b store.Object) int {
		return cmpKey(a.Kind, a.ID, b.Kind, b.ID)
	})
	wantObjects(t, s, "t1", want...)
	if objs := loadAll(t, s, "nobody"); len(objs) != 0 {
		t.Fatalf("LoadObjects of an unknown tenant = %d objects", len(objs))
	}
}

// cmpKey orders by kind then id, comparing bytes.
func cmpKey(ak store.Kind, aid string, bk store.Kind, bid string) int {
	if c := strings.Compare(string(ak), string(bk)); c != 0 {
		return c
	}
	return strings.Compare(aid, bid)
}

func testLoadObjectsStopsAtCallbackError(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	var ms []store.Mutation
	for i := range 100 {
		ms = append(ms, put(store.KindUser, fmt.Sprintf("u%03d", i), `{}`))
	}
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: ms})
	stop := errors.New("stop")
	calls := 0
	err := s.LoadObjects(ctx(t), "t1", func(store.Object) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("LoadObjects = %v, want the callback's error", err)
	}
	if calls != 3 {
		t.Fatalf("callback called %d times after its error, want 3 calls", calls)
	}
	// The store is still usable: the load released what it held.
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u999", `{}`)}})
	if n := len(loadAll(t, s, "t1")); n != 101 {
		t.Fatalf("objects after the stopped load = %d, want 101", n)
	}
}

// orderChanges exercises ordering: within a change and across the changes of
// one Commit, the last mutation of a key wins.
func orderChanges(filler int) []store.Change {
	first := store.Change{TenantID: "t1", Mutations: []store.Mutation{
		put(store.KindUser, "a", `1`), put(store.KindUser, "a", `2`), // last write wins
		put(store.KindUser, "b", `1`), del(store.KindUser, "b"), // deleted
		del(store.KindUser, "c"), put(store.KindUser, "c", `3`), // delete then write: written
		put(store.KindUser, "d", `1`), // deleted by the next change
		put(store.KindUser, "e", `1`), // rewritten by the next change
	}}
	for i := range filler {
		first.Mutations = append(first.Mutations, put(store.KindLicense, fmt.Sprintf("f%06d", i), `{}`))
	}
	second := store.Change{TenantID: "t1", Mutations: []store.Mutation{
		del(store.KindUser, "d"),
		put(store.KindUser, "e", `2`),
		put(store.KindUser, "a", `4`), del(store.KindUser, "a"), put(store.KindUser, "a", `5`),
	}}
	return []store.Change{first, second}
}

func testMutationsApplyInOrder(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "c", `0`), put(store.KindUser, "e", `0`)}})
	mustCommit(t, s, orderChanges(0)...)
	wantObjects(t, s, "t1", obj(store.KindUser, "a", `5`), obj(store.KindUser, "c", `3`), obj(store.KindUser, "e", `2`))
}

func testMutationsApplyInOrderLarge(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "c", `0`), put(store.KindUser, "e", `0`)}})
	const filler = 5000 // large enough for any backend's bulk path
	mustCommit(t, s, orderChanges(filler)...)
	objs := loadAll(t, s, "t1")
	if len(objs) != filler+3 {
		t.Fatalf("objects = %d, want %d", len(objs), filler+3)
	}
	users := slices.DeleteFunc(objs, func(o store.Object) bool { return o.Kind != store.KindUser })
	if got, want := render(users), render([]store.Object{obj(store.KindUser, "a", `5`), obj(store.KindUser, "c", `3`), obj(store.KindUser, "e", `2`)}); got != want {
		t.Fatalf("users:\n got:\n%s want:\n%s", got, want)
	}
}

func testDeleteOfMissingObject(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u1", `{}`)}})
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{
		del(store.KindUser, "nobody"), del(store.KindGroup, "u1"), put(store.KindUser, "u2", `{}`),
	}, Audit: []audit.Entry{entry(1)}})
	wantObjects(t, s, "t1", obj(store.KindUser, "u1", `{}`), obj(store.KindUser, "u2", `{}`))
	if seq, err := s.MaxAuditSeq(ctx(t), "t1"); err != nil || seq != 1 {
		t.Fatalf("MaxAuditSeq = %d, %v; want 1: the commit with deletes of missing objects applied", seq, err)
	}
}

func testEmptyBodies(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{
		{Kind: store.KindMember, ID: "g1/u1"},
		{Kind: store.KindMember, ID: "g1/u2", Body: []byte{}},
	}})
	for _, id := range []string{"g1/u1", "g1/u2"} {
		o, err := s.GetObject(ctx(t), "t1", store.KindMember, id)
		if err != nil || len(o.Body) != 0 {
			t.Fatalf("GetObject(%q) = %q, %v; want an empty body", id, o.Body, err)
		}
	}
}

func testEmptyCommit(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	if err := s.Commit(ctx(t), nil); err != nil {
		t.Fatalf("Commit(nil): %v", err)
	}
	if err := s.Commit(ctx(t), []store.Change{{TenantID: "t1"}}); err != nil {
		t.Fatalf("Commit of an empty change: %v", err)
	}
	if n := len(loadAll(t, s, "t1")); n != 0 {
		t.Fatalf("objects = %d", n)
	}
}
