package postgres_test

import (
	"context"
	"errors"
	"testing"

	"allot/store"
	"allot/store/postgres"
	"allot/store/storetest"
)

func TestOneWriterOwnsTheDatabase(t *testing.T) {
	url := schemaURL(t)
	storetest.RunOwnership(t,
		func() (store.Store, error) { return postgres.Open(context.Background(), url) },
		func() (store.Store, error) { return postgres.OpenReadOnly(context.Background(), url) })
}

// A writer that lost its lock while another process took the schema over
// must not commit from its stale copy.
func TestWriterThatLostTheDatabaseToAnotherCannotCommit(t *testing.T) {
	url := schemaURL(t)
	ctx := context.Background()
	w1, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Close()
	change := func(id string) []store.Change {
		return []store.Change{{TenantID: "t", Mutations: []store.Mutation{{Kind: store.KindUser, ID: id, Body: []byte(`{}`)}}}}
	}
	if err := w1.Commit(ctx, change("before")); err != nil {
		t.Fatal(err)
	}
	w1.LoseOwnerLock()
	w2, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("the second writer after the first lost its lock: %v", err)
	}
	defer w2.Close()
	if err := w1.Commit(ctx, change("stale")); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("the first writer's commit after the takeover: %v, want ErrInUse", err)
	}
	if err := w1.CommitBulk(ctx, change("stale2")[0], func() ([]store.Object, error) { return nil, nil }); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("the first writer's bulk commit after the takeover: %v, want ErrInUse", err)
	}
	if err := w1.ProbeWrite(ctx); !errors.Is(err, store.ErrInUse) || store.FaultOf(err) == nil {
		t.Fatalf("the first writer's write probe after the takeover: %v, want a fault wrapping ErrInUse", err)
	}
	for _, id := range []string{"stale", "stale2"} {
		if _, err := w2.GetObject(ctx, "t", store.KindUser, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the fenced commit of %s is in the database: %v", id, err)
		}
	}
	if err := w2.Commit(ctx, change("after")); err != nil {
		t.Fatalf("the new owner cannot commit: %v", err)
	}
}
