package postgres_test

import (
	"context"
	"testing"
	"time"

	"allot/store"
	"allot/store/postgres"
)

// A shared store's commit notifies every listener (another store on the
// same schema) with the tenant and the record's number, once committed; a
// fenced commit notifies nothing.
func TestSharedCommitNotifiesListeners(t *testing.T) {
	url := schemaURL(t)
	ctx := context.Background()
	open := func() *postgres.Store {
		s, err := postgres.OpenShared(ctx, url, postgres.SharedOptions{TTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	type note struct {
		tenant string
		seq    int64
	}
	got := make(chan note, 16)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Notifications(lctx, func(tenant string, seq int64) { got <- note{tenant, seq} })
	}()
	t.Cleanup(func() { cancel(); <-done })
	if err := a.CreateTenant(ctx, store.Tenant{ID: "t", CompanyName: "T", Domain: "t.example"}); err != nil {
		t.Fatal(err)
	}
	l, err := a.AcquireLease(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	// The listener may not be listening yet: commit until a note comes.
	var first note
	for first.tenant == "" {
		cs := []store.Change{{TenantID: "t", Fence: l.Token, Mutations: []store.Mutation{{Kind: store.KindUser, ID: "u", Body: []byte(`{}`)}}}}
		if err := a.Commit(ctx, cs); err != nil {
			t.Fatal(err)
		}
		select {
		case first = <-got:
			if first.tenant != "t" || first.seq > cs[0].Seq {
				t.Fatalf("note %+v for commit %d", first, cs[0].Seq)
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
	for len(got) > 0 { // notes of earlier commits
		<-got
	}
	cs := []store.Change{{TenantID: "t", Fence: l.Token, Mutations: []store.Mutation{{Kind: store.KindUser, ID: "v", Body: []byte(`{}`)}}}}
	if err := a.Commit(ctx, cs); err != nil {
		t.Fatal(err)
	}
	for n := range got {
		if n == (note{"t", cs[0].Seq}) {
			break
		}
		if n.seq > cs[0].Seq {
			t.Fatalf("note %+v, want seq %d", n, cs[0].Seq)
		}
	}
	// A stale token: nothing committed, nothing told.
	stale := []store.Change{{TenantID: "t", Fence: l.Token - 1, Mutations: []store.Mutation{{Kind: store.KindUser, ID: "w", Body: []byte(`{}`)}}}}
	if err := a.Commit(ctx, stale); err == nil {
		t.Fatal("a stale token committed")
	}
	mark := []store.Change{{TenantID: "t", Fence: l.Token, Mutations: []store.Mutation{{Kind: store.KindUser, ID: "x", Body: []byte(`{}`)}}}}
	if err := a.Commit(ctx, mark); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != (note{"t", cs[0].Seq + 1}) {
		t.Fatalf("after a fenced commit the next note is %+v, want seq %d", n, cs[0].Seq+1)
	}
}
