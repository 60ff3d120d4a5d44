package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"allot/store"
)

// RunOwnership checks that a database has one writer process at a time:
// openWriter opens the same database for writing each time, openReader
// opens it read-only. Backends call it from their own tests.
func RunOwnership(t *testing.T, openWriter, openReader func() (store.Store, error)) {
	ctx := context.Background()
	w1, err := openWriter()
	if err != nil {
		t.Fatalf("first writer: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			w1.Close()
		}
	}()
	now := time.Now().UTC().Truncate(time.Second)
	if err := w1.CreateTenant(ctx, store.Tenant{ID: "owned", CompanyName: "Owned", Domain: "owned.example", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}

	t.Run("SecondWriterIsRefusedAndToldWhoOwnsIt", func(t *testing.T) {
		w2, err := openWriter()
		if err == nil {
			w2.Close()
			t.Fatal("a second writer opened a database another writer owns")
		}
		if !errors.Is(err, store.ErrInUse) {
			t.Fatalf("second writer: %v, want an error wrapping store.ErrInUse", err)
		}
		for _, want := range []string{fmt.Sprintf("pid %d", os.Getpid()), "API", "stop"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal %q does not say %q", err, want)
			}
		}
	})

	t.Run("ReaderReadsWhileOwnedAndCannotWrite", func(t *testing.T) {
		r, err := openReader()
		if err != nil {
			t.Fatalf("read-only open while owned: %v", err)
		}
		defer r.Close()
		if !store.IsReadOnly(r) {
			t.Error("IsReadOnly is false for a read-only store")
		}
		if err := w1.CreateTenant(ctx, store.Tenant{ID: "later", CompanyName: "Later", Domain: "later.example", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		ts, err := r.ListTenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 2 {
			t.Errorf("the reader sees %d tenants, want the writer's 2 (%v)", len(ts), ts)
		}
		if err := r.CreateTenant(ctx, store.Tenant{ID: "x", CreatedAt: now}); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("CreateTenant on a read-only store: %v, want ErrReadOnly", err)
		}
		if err := r.Commit(ctx, []store.Change{{TenantID: "owned", Mutations: []store.Mutation{{Kind: store.KindUser, ID: "u", Body: []byte(`{}`)}}}}); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Commit on a read-only store: %v, want ErrReadOnly", err)
		}
		if err := r.RevokeToken(ctx, "owned", "t", now); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("RevokeToken on a read-only store: %v, want ErrReadOnly", err)
		}
		// The change log stays readable: a load needs its number to adopt
		// what it reads (tenant: the derivation stamp).
		if wl, ok := w1.(store.ChangeLog); ok {
			if err := w1.Commit(ctx, []store.Change{{TenantID: "owned", Mutations: []store.Mutation{{Kind: store.KindSetting, ID: "s", Body: []byte(`{}`)}}}}); err != nil {
				t.Fatal(err)
			}
			want, err := wl.LogSeq(ctx, "owned")
			if err != nil {
				t.Fatal(err)
			}
			rl, ok := r.(store.ChangeLog)
			if !ok {
				t.Fatal("the read-only store hides the change log")
			}
			if got, err := rl.LoadObjectsAt(ctx, "owned", func(store.Object) error { return nil }); err != nil || got != want || want < 1 {
				t.Errorf("read-only LoadObjectsAt: log %d, %v; the writer's is %d", got, err, want)
			}
		}
		if _, err := r.GetObject(ctx, "owned", store.KindUser, "u"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the refused commit is visible: %v", err)
		}
	})

	t.Run("OwnershipEndsAtClose", func(t *testing.T) {
		if err := w1.Close(); err != nil {
			t.Fatal(err)
		}
		closed = true
		w2, err := openWriter()
		if err != nil {
			t.Fatalf("a writer after the owner closed: %v", err)
		}
		defer w2.Close()
		if _, err := w2.GetTenant(ctx, "later"); err != nil {
			t.Errorf("the next owner does not see the first owner's tenant: %v", err)
		}
	})
}
