package web

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// While the findings page's position is being computed, commits and
// readers go on (it computes on a Tenant.Snapshot, not inside
// Tenant.Read), and the position is that of the commit it started from.
func TestFindingsComputationDoesNotHoldTheTenant(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rt, err := tenant.Open(ctx, db, catalog.Default(), tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	tn, err := rt.Create(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	putUser := func(id string) error {
		return tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *tenant.Tx) error {
			return tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id + "@contoso.example", AccountEnabled: true})
		})
	}
	if err := putUser("u1"); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan int), make(chan struct{})
	defer func(f func(*tenant.State, position.Options) (*position.Position, error)) { positionOf = f }(positionOf)
	positionOf = func(s *tenant.State, o position.Options) (*position.Position, error) {
		started <- s.Engine.UserCount()
		<-release
		return snapshotstore.Position(s, o)
	}
	before := commit(tn)
	done := make(chan *computedPosition)
	go func() {
		cp, err := computePosition(snapshotOf(tn), time.Now())
		if err != nil {
			t.Error(err)
		}
		done <- cp
	}()
	if n := <-started; n != 1 {
		t.Fatalf("the computation sees %d users, want 1", n)
	}
	// The computation is under way: a commit and a read must not wait for
	// it (were it inside Tenant.Read, the commit's replay would wait for it).
	committed := make(chan error, 1)
	go func() {
		committed <- tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *tenant.Tx) error {
			return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u2", UserPrincipalName: "u2@contoso.example", AccountEnabled: true})
		})
	}()
	select {
	case err := <-committed:
		if err != nil {
			t.Fatalf("a commit during the computation: %v", err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("a commit waited for the position computation")
	}
	tn.Read(func(s *tenant.State) {
		if s.Engine.UserCount() != 2 {
			t.Errorf("readers see %d users after the commit, want 2", s.Engine.UserCount())
		}
	})
	close(release)
	cp := <-done
	if cp == nil {
		t.Fatal("no position")
	}
	if cp.commit != before {
		t.Fatalf("the position is of commit %d, want %d (the one it started from)", cp.commit, before)
	}
}
