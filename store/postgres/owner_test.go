package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

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

func TestTenantLeases(t *testing.T) {
	url := schemaURL(t)
	storetest.RunLeases(t, func() (store.Store, error) {
		return postgres.OpenShared(context.Background(), url, postgres.SharedOptions{TTL: time.Second})
	})
}

// Shared stores (tenant leases) and a store that owns the whole database
// exclude each other; an owner that takes the database over fences the
// shared stores that lost their lock.
func TestSharedAndWholeDatabaseOwnersExcludeEachOther(t *testing.T) {
	url := schemaURL(t)
	ctx := context.Background()
	shared := func() (*postgres.Store, error) {
		return postgres.OpenShared(ctx, url, postgres.SharedOptions{TTL: time.Second})
	}
	a, err := shared()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := shared()
	if err != nil {
		t.Fatalf("a second shared store: %v", err)
	}
	defer b.Close()
	if w, err := postgres.Open(ctx, url); !errors.Is(err, store.ErrInUse) {
		if w != nil {
			w.Close()
		}
		t.Fatalf("Open while shared stores run: %v, want ErrInUse", err)
	}
	if err := a.CreateTenant(ctx, store.Tenant{ID: "t", CompanyName: "T", Domain: "t.example"}); err != nil {
		t.Fatal(err)
	}
	l, err := a.AcquireLease(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	a.LoseOwnerLock() // a is cut off from the database and does not know it
	w, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open once the shared stores are gone: %v", err)
	}
	defer w.Close()
	if _, err := shared(); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("OpenShared while a store owns the database: %v, want ErrInUse", err)
	}
	err = a.Commit(ctx, []store.Change{{TenantID: "t", Fence: l.Token, Mutations: []store.Mutation{{Kind: store.KindUser, ID: "stale", Body: []byte(`{}`)}}}})
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the cut-off shared store's commit after another process owned the database: %v, want ErrFenced", err)
	}
	if _, err := w.GetObject(ctx, "t", store.KindUser, "stale"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the fenced commit is in the database: %v", err)
	}
}
