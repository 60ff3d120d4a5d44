package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"allot/audit"
	"allot/store"
)

// wantNothingApplied checks that tenants t1 and t2 hold exactly what the
// setup committed: one object u0 and audit seq 1 on t1, nothing on t2.
func wantNothingApplied(t *testing.T, s store.Store) {
	t.Helper()
	wantObjects(t, s, "t1", obj(store.KindUser, "u0", `0`))
	wantObjects(t, s, "t2")
	for tenant, want := range map[string]int64{"t1": 1, "t2": 0} {
		if seq, err := s.MaxAuditSeq(ctx(t), tenant); err != nil || seq != want {
			t.Fatalf("MaxAuditSeq(%q) = %d, %v; want %d", tenant, seq, err, want)
		}
	}
}

func setupAtomicity(t *testing.T, s store.Store) {
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u0", `0`)}, Audit: []audit.Entry{entry(1)}})
}

func testDuplicateSeqInBatch(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	setupAtomicity(t, s)
	err := s.Commit(ctx(t), []store.Change{
		{TenantID: "t2", Mutations: []store.Mutation{put(store.KindUser, "u1", `1`)}, Audit: []audit.Entry{entry(1)}},
		{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u1", `1`), del(store.KindUser, "u0")}, Audit: []audit.Entry{entry(2)}},
		{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u2", `2`)}, Audit: []audit.Entry{entry(3), entry(2)}},
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Commit with a duplicate audit seq = %v, want ErrConflict", err)
	}
	wantNothingApplied(t, s)
}

func testSeqAlreadyStored(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	setupAtomicity(t, s)
	err := s.Commit(ctx(t), []store.Change{
		{TenantID: "t2", Mutations: []store.Mutation{put(store.KindUser, "u1", `1`)}, Audit: []audit.Entry{entry(1)}},
		{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u0", `changed`)}, Audit: []audit.Entry{entry(1)}},
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Commit with a stored audit seq = %v, want ErrConflict", err)
	}
	wantNothingApplied(t, s)
}

func testLargeCommitDuplicateSeq(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	setupAtomicity(t, s)
	big := store.Change{TenantID: "t2"}
	for i := range 5000 {
		big.Mutations = append(big.Mutations, put(store.KindUser, fmt.Sprintf("u%05d", i), `{}`))
		big.Audit = append(big.Audit, entry(int64(i+1)))
	}
	big.Mutations = append(big.Mutations, del(store.KindUser, "u00001"))
	err := s.Commit(ctx(t), []store.Change{
		big,
		{TenantID: "t1", Mutations: []store.Mutation{del(store.KindUser, "u0")}, Audit: []audit.Entry{entry(2), entry(1)}},
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Commit = %v, want ErrConflict", err)
	}
	wantNothingApplied(t, s)
}

func testInvalidMutation(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	setupAtomicity(t, s)
	for name, bad := range map[string]store.Change{
		"no id":          {TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "", `{}`)}},
		"no kind":        {TenantID: "t1", Mutations: []store.Mutation{put("", "u9", `{}`)}},
		"no tenant":      {Mutations: []store.Mutation{put(store.KindUser, "u9", `{}`)}},
		"other tenant's": {TenantID: "t1", Audit: []audit.Entry{{TenantID: "t2", Seq: 7, At: base}}},
		"stored seq":     {TenantID: "t1", Audit: []audit.Entry{entry(1)}},
	} {
		err := s.Commit(ctx(t), []store.Change{
			{TenantID: "t2", Mutations: []store.Mutation{put(store.KindUser, "u1", `1`)}},
			{TenantID: "t1", Mutations: []store.Mutation{del(store.KindUser, "u0")}},
			bad,
		})
		if err == nil {
			t.Fatalf("Commit with %s: no error", name)
		}
		wantNothingApplied(t, s)
	}
}

func testCancelledCommit(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	setupAtomicity(t, s)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	err := s.Commit(c, []store.Change{
		{TenantID: "t2", Mutations: []store.Mutation{put(store.KindUser, "u1", `1`)}, Audit: []audit.Entry{entry(1)}},
		{TenantID: "t1", Mutations: []store.Mutation{del(store.KindUser, "u0")}, Audit: []audit.Entry{entry(2)}},
	})
	if err == nil {
		t.Fatal("Commit with a cancelled context: no error")
	}
	wantNothingApplied(t, s)
}
