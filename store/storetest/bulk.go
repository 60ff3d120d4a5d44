package storetest

import (
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"allot/audit"
	"allot/store"
)

// batches returns a CommitBulk stream over objs cut at the given sizes
// (the rest in one last batch), and a counter of next calls.
func batches(objs []store.Object, sizes ...int) (func() ([]store.Object, error), *int) {
	calls := 0
	return func() ([]store.Object, error) {
		calls++
		if len(objs) == 0 {
			return nil, nil
		}
		n := len(objs)
		if len(sizes) > 0 {
			n, sizes = min(sizes[0], n), sizes[1:]
		}
		b := objs[:n]
		objs = objs[n:]
		return b, nil
	}, &calls
}

func bulkObjects(n int) []store.Object {
	var objs []store.Object
	for i := range n {
		objs = append(objs, obj(store.KindLicense, fmt.Sprintf("u%04d/sku", i), fmt.Sprintf(`{"n":%d}`, i)))
	}
	objs = append(objs, obj(store.KindMember, "g1/u0001", ``)) // empty bodies too
	return objs
}

// CommitBulk applies the change, then inserts every streamed object, in
// batches of any size; the result survives a reopen.
func testCommitBulk(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCreateTenant(t, s, "t1")
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u0", `0`), put(store.KindUser, "u1", `1`)},
		Audit: []audit.Entry{entry(1)}})
	mustCommit(t, s, store.Change{TenantID: "t2", Mutations: []store.Mutation{put(store.KindLicense, "u0000/sku", `other tenant`)}})
	objs := bulkObjects(700)
	next, calls := batches(objs, 1, 300, 129)
	c := store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u0", `changed`), del(store.KindUser, "u1")},
		Audit: []audit.Entry{entry(2), entry(3)}}
	if err := s.CommitBulk(ctx(t), c, next); err != nil {
		t.Fatalf("CommitBulk: %v", err)
	}
	if *calls < 3 {
		t.Fatalf("CommitBulk called next %d times, want every batch", *calls)
	}
	want := append([]store.Object{}, objs[:len(objs)-1]...)
	want = append(want, objs[len(objs)-1], obj(store.KindUser, "u0", `changed`))
	// LoadObjects orders by kind then id: license < member < user.
	wantObjects(t, s, "t1", want...)
	wantObjects(t, s, "t2", obj(store.KindLicense, "u0000/sku", `other tenant`))
	if seq, err := s.MaxAuditSeq(ctx(t), "t1"); err != nil || seq != 3 {
		t.Fatalf("MaxAuditSeq = %d, %v; want 3", seq, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t)
	wantObjects(t, s, "t1", want...)

	// An empty stream and an empty change are fine.
	next, _ = batches(nil)
	if err := s.CommitBulk(ctx(t), store.Change{TenantID: "t1"}, next); err != nil {
		t.Fatalf("empty CommitBulk: %v", err)
	}
	wantObjects(t, s, "t1", want...)
}

// An object that exists fails CommitBulk with ErrConflict, and nothing of
// the change or of the stream is applied.
func testCommitBulkExistingObjectAppliesNothing(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	setupAtomicity(t, s)
	for name, tc := range map[string]struct {
		tenant string
		objs   []store.Object
	}{
		"stored":          {"t1", append(bulkObjects(300), obj(store.KindUser, "u0", `again`))},
		"in the change":   {"t2", append(bulkObjects(300), obj(store.KindUser, "u9", `again`))},
		"first of stream": {"t1", []store.Object{obj(store.KindUser, "u0", `again`)}},
	} {
		next, _ := batches(tc.objs, 200)
		c := store.Change{TenantID: tc.tenant, Mutations: []store.Mutation{put(store.KindUser, "u9", `9`)}, Audit: []audit.Entry{entry(2)}}
		if tc.tenant == "t1" {
			c.Mutations = append(c.Mutations, del(store.KindUser, "u0"), put(store.KindUser, "u0", `new`))
		}
		err := s.CommitBulk(ctx(t), c, next)
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("%s: CommitBulk = %v, want ErrConflict", name, err)
		}
		wantNothingApplied(t, s)
	}
}

// An error from next fails CommitBulk with that error and applies nothing.
func testCommitBulkStreamErrorAppliesNothing(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	setupAtomicity(t, s)
	boom := errors.New("boom")
	objs := bulkObjects(500)
	calls := 0
	next := func() ([]store.Object, error) {
		calls++
		if calls == 3 {
			return nil, boom
		}
		b := objs[:200]
		objs = objs[200:]
		return b, nil
	}
	c := store.Change{TenantID: "t1", Mutations: []store.Mutation{del(store.KindUser, "u0")}, Audit: []audit.Entry{entry(2)}}
	if err := s.CommitBulk(ctx(t), c, next); !errors.Is(err, boom) {
		t.Fatalf("CommitBulk = %v, want the stream's error", err)
	}
	wantNothingApplied(t, s)
	next, _ = batches([]store.Object{obj(store.KindUser, "u5", `5`), obj(store.KindUser, "", `no id`)})
	if err := s.CommitBulk(ctx(t), store.Change{TenantID: "t1"}, next); err == nil {
		t.Fatal("CommitBulk of an object without an id: no error")
	}
	wantNothingApplied(t, s)
}

// A stream's batches are valid only until next is called again: a stream
// that writes each batch's keys and bodies over the previous one's memory
// commits the objects as they were streamed, read back whole and one by
// one (a store copies what it keeps of a batch).
func testCommitBulkReusedBatches(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCreateTenant(t, s, "t1")
	const n, size = 20_000, 1000 // parts of about 2,500 objects, compressed
	var want []store.Object
	for i := range n {
		want = append(want, obj(store.KindLicense, fmt.Sprintf("u%06d/sku", i), fmt.Sprintf(`{"n":%d,"pad":"%0400d"}`, i, i)))
	}
	var keys, bodies []byte
	batch := make([]store.Object, 0, size)
	from := 0
	next := func() ([]store.Object, error) {
		// Overwrite the previous batch, whose memory this one reuses.
		for i := range keys {
			keys[i] = 'z'
		}
		for i := range bodies {
			bodies[i] = 'z'
		}
		keys, bodies, batch = keys[:0], bodies[:0], batch[:0]
		to := min(from+size, n)
		for _, o := range want[from:to] {
			keys = append(keys, o.ID...)
			bodies = append(bodies, o.Body...)
		}
		k, b := 0, 0
		for _, o := range want[from:to] {
			batch = append(batch, store.Object{Kind: o.Kind, ID: unsafe.String(&keys[k], len(o.ID)), Body: bodies[b : b+len(o.Body) : b+len(o.Body)]})
			k, b = k+len(o.ID), b+len(o.Body)
		}
		from = to
		return batch, nil
	}
	keys, bodies = make([]byte, 0, size*16), make([]byte, 0, size*512) // never grown: the batches share them
	if err := s.CommitBulk(ctx(t), store.Change{TenantID: "t1"}, next); err != nil {
		t.Fatalf("CommitBulk: %v", err)
	}
	wantObjects(t, s, "t1", want...)
	for i := 0; i < n; i += 997 {
		got, err := s.GetObject(ctx(t), "t1", want[i].Kind, want[i].ID)
		if err != nil || string(got.Body) != string(want[i].Body) {
			t.Fatalf("GetObject %q = %q, %v; want %q", want[i].ID, got.Body, err, want[i].Body)
		}
	}
}
