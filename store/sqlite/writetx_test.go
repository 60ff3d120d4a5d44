package sqlite_test

import (
	"context"
	"errors"
	"testing"

	"allot/store"
)

// A write whose context ends while its transaction is open is rolled back,
// and leaves no transaction open on the writer's connection: the next
// write begins, commits, and is all that the tenant holds. The same holds
// after a write that fails on a statement (an object that exists).
func TestAnEndedOrFailedWriteRollsBackAndTheNextCommits(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	objects := func() []string {
		var ids []string
		if err := s.LoadObjects(ctx, "t1", func(o store.Object) error { ids = append(ids, o.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	user := func(id string) store.Mutation {
		return store.Mutation{Kind: store.KindUser, ID: id, Body: []byte(`{"id":"` + id + `"}`)}
	}

	// The context ends within the transaction: after the change's
	// mutations, while the objects stream.
	c, cancel := context.WithCancel(ctx)
	calls := 0
	err := s.CommitBulk(c, store.Change{TenantID: "t1", Mutations: []store.Mutation{user("u0")}}, func() ([]store.Object, error) {
		calls++
		if calls == 1 {
			return []store.Object{{Kind: store.KindUser, ID: "u1", Body: []byte(`{}`)}}, nil
		}
		cancel()
		return nil, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a bulk commit whose context ended: %v, want context.Canceled", err)
	}
	if ids := objects(); len(ids) != 0 {
		t.Fatalf("after the ended write the tenant holds %v", ids)
	}
	if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{user("u2")}}}); err != nil {
		t.Fatalf("the write after the ended one: %v", err)
	}

	// A statement fails: the streamed object exists.
	err = s.CommitBulk(ctx, store.Change{TenantID: "t1", Mutations: []store.Mutation{user("u3")}}, func() ([]store.Object, error) {
		calls++
		if calls == 3 {
			return []store.Object{{Kind: store.KindUser, ID: "u2", Body: []byte(`{}`)}}, nil
		}
		return nil, nil
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a bulk commit of an existing object: %v, want ErrConflict", err)
	}
	if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{user("u4")}}}); err != nil {
		t.Fatalf("the write after the failed one: %v", err)
	}
	if ids := objects(); len(ids) != 2 || ids[0] != "u2" || ids[1] != "u4" {
		t.Fatalf("the tenant holds %v, want [u2 u4]", ids)
	}
}
