package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"allot"
	"allot/audit"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
)

func openSQLite(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

const tid = "11111111-1111-1111-1111-111111111111"

func newRuntime(t testing.TB, st store.Store) *Runtime {
	t.Helper()
	rt, err := Open(context.Background(), st, catalog.Default(), testOptions(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func sku(t testing.TB, part string) string {
	s, ok := catalog.Default().SKU(part)
	if !ok {
		t.Fatalf("no SKU %s", part)
	}
	return s.ID
}

func uid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
func gid(n int) string { return fmt.Sprintf("00000000-0000-4000-9000-%012d", n) }

// fingerprint renders what readers can see of an engine.
// fingerprint is the engine's state as its queries answer it, users in id
// order (the engine's own order of users is not part of its state: a
// loaded engine and one that followed the commands list them differently).
func fingerprint(e *licensing.Engine) string {
	var out []any
	var ids []string
	e.ForEachUser(func(u *licensing.User) bool {
		ids = append(ids, u.ID)
		return true
	})
	slices.Sort(ids)
	for _, id := range ids {
		u, _ := e.User(id)
		out = append(out, u, e.Licenses(id), e.DirectLicenses(id), e.GroupsOf(id))
	}
	for _, g := range e.GroupIDs() {
		gr, _ := e.Group(g)
		us, gs := e.Members(g)
		out = append(out, gr, us, gs, e.GroupLicenses(g), e.HasMembersWithLicenseErrors(g))
	}
	for _, p := range e.Pools() {
		out = append(out, p.SKU.ID, p.Units, p.Consumed, p.Waiting, e.WaitingRoom(p.SKU.ID))
	}
	out = append(out, e.Settings())
	// JSON, not %+v: rare parts of a record are behind pointers (kept
	// sources), whose addresses differ between equal copies.
	b, err := json.Marshal(out)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func seed(t *testing.T, rt *Runtime) *Tenant {
	t.Helper()
	ctx := context.Background()
	tn, err := rt.Create(ctx, store.Tenant{ID: tid, CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	e3 := sku(t, "SPE_E3")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error { return tx.Engine.SetUnits(tx.Op, e3, licensing.Units{Enabled: 3}) }))
	must(tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
		return tx.Engine.PutGroup(tx.Op, licensing.Group{ID: gid(1), DisplayName: "Sales", SecurityEnabled: true})
	}))
	must(tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
		return tx.Engine.AssignGroupLicenses(tx.Op, gid(1), []licensing.AssignedLicense{{SKUID: e3}}, nil)
	}))
	for i := 1; i <= 5; i++ {
		i := i
		must(tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(i), UserPrincipalName: fmt.Sprintf("u%d@contoso.example", i), UsageLocation: "US", AccountEnabled: true}); err != nil {
				return err
			}
			return tx.Engine.AddMembers(tx.Op, gid(1), []string{uid(i)})
		}))
	}
	return tn
}

func TestCommittedStateSurvivesRestart(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	var before string
	tn.Read(func(s *State) { before = fingerprint(s.Engine) })
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rt2 := newRuntime(t, st)
	tn2, ok := rt2.Get(tid)
	if !ok {
		t.Fatal("tenant not loaded")
	}
	var after string
	tn2.Read(func(s *State) { after = fingerprint(s.Engine) })
	if before != after {
		t.Fatalf("state after restart differs:\n%s\n%s", before, after)
	}
	// The waiting room survives too: 5 members, 3 seats.
	tn2.Read(func(s *State) {
		if p, _ := s.Engine.Pool(sku(t, "SPE_E3")); p.Consumed != 3 || p.Waiting != 2 {
			t.Fatalf("pool after restart: %+v", p)
		}
	})
	audit, err := st.QueryAudit(context.Background(), auditQuery(tid))
	if err != nil || len(audit) == 0 {
		t.Fatalf("audit: %v %d", err, len(audit))
	}
	for i, a := range audit {
		if a.Seq != int64(i+1) {
			t.Fatalf("audit seq %d at %d", a.Seq, i)
		}
	}
}

func TestConcurrentWritersReaderCopyMatchesWriter(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 64; w++ {
		w := w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				id := uid(1000 + w*10 + i)
				err := tn.Do(context.Background(), licensing.Op{Actor: "w"}, func(tx *Tx) error {
					if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id + "@x", UsageLocation: "US"}); err != nil {
						return err
					}
					return tx.Engine.AddMembers(tx.Op, gid(1), []string{id})
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Wait until the writer is idle, then compare both copies.
	if err := tn.Do(context.Background(), licensing.Op{}, func(*Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var r string
	tn.Read(func(s *State) { r = fingerprint(s.Engine) })
	w := fingerprint(tn.writer.Engine)
	if r != w {
		t.Fatal("reader copy differs from writer copy")
	}
	tn.Read(func(s *State) {
		if p, _ := s.Engine.Pool(sku(t, "SPE_E3")); p.Consumed != 3 || p.Waiting != 5+320-3 {
			t.Fatalf("pool: %+v", p)
		}
	})
}

// failingStore fails the next Commit.
type failingStore struct {
	store.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) Commit(ctx context.Context, cs []store.Change) error {
	f.mu.Lock()
	fail := f.fail
	f.fail = false
	f.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return f.Store.Commit(ctx, cs)
}

func TestFailedCommitChangesNothing(t *testing.T) {
	fs := &failingStore{Store: openSQLite(t)}
	rt := newRuntime(t, fs)
	tn := seed(t, rt)
	var before string
	tn.Read(func(s *State) { before = fingerprint(s.Engine) })
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	err := tn.Do(context.Background(), licensing.Op{Actor: "t"}, func(tx *Tx) error {
		return tx.Engine.RemoveMembers(tx.Op, gid(1), []string{uid(1)})
	})
	if allot.ErrorCode(err) != allot.EINTERNAL {
		t.Fatalf("want internal error, got %v", err)
	}
	var after string
	tn.Read(func(s *State) { after = fingerprint(s.Engine) })
	if before != after || fingerprint(tn.writer.Engine) != before {
		t.Fatal("a failed commit changed the state")
	}
	// The next command works and sees the old state.
	if err := tn.Do(context.Background(), licensing.Op{Actor: "t"}, func(tx *Tx) error {
		return tx.Engine.RemoveMembers(tx.Op, gid(1), []string{uid(1)})
	}); err != nil {
		t.Fatal(err)
	}
}

// After a failed commit the writer's copy is rebuilt from the store; it
// must continue on the readers' engine clock. It used to take the time of
// the rebuild, so a command stamped before the rebuild (queued while it
// ran) claimed at the rebuild's time in the store and at its own time in
// the readers' copy: waiting times 1–3 s apart until a restart.
func TestFailedCommitKeepsBothCopiesOnOneClock(t *testing.T) {
	fs := &failingStore{Store: openSQLite(t)}
	var mu sync.Mutex
	clock := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	rt, err := Open(context.Background(), fs, catalog.Default(), testOptions(Options{Now: now}))
	if err != nil {
		t.Fatal(err)
	}
	tn := seed(t, rt)
	queued := now().Add(time.Second) // a command's time, chosen before the rebuild
	mu.Lock()
	clock = clock.Add(3 * time.Second) // the rebuild happens later
	mu.Unlock()
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	if err := tn.Do(context.Background(), licensing.Op{Actor: "t"}, func(tx *Tx) error {
		return tx.Engine.RemoveMembers(tx.Op, gid(1), []string{uid(1)})
	}); allot.ErrorCode(err) == "" {
		t.Fatal("the commit did not fail")
	}
	// A new member claims a seat (it waits): at the command's time.
	if err := tn.Do(context.Background(), licensing.Op{Actor: "t", Now: queued}, func(tx *Tx) error {
		if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(9), UserPrincipalName: "u9@contoso.example", UsageLocation: "US", AccountEnabled: true}); err != nil {
			return err
		}
		return tx.Engine.AddMembers(tx.Op, gid(1), []string{uid(9)})
	}); err != nil {
		t.Fatal(err)
	}
	var readers string
	tn.Read(func(s *State) { readers = fingerprint(s.Engine) })
	if w := fingerprint(tn.writer.Engine); w != readers {
		t.Fatalf("the copies disagree after a failed commit:\nreaders %s\nwriter  %s", readers, w)
	}
	stored, _, _, err := rt.loadState(context.Background(), tid)
	if err != nil {
		t.Fatal(err)
	}
	if s := fingerprint(stored.Engine); s != readers {
		t.Fatalf("the readers' copy is not what is stored:\nreaders %s\nstored  %s", readers, s)
	}
}

func TestPanickingCommandIsContained(t *testing.T) {
	rt := newRuntime(t, openSQLite(t))
	tn := seed(t, rt)
	var before string
	tn.Read(func(s *State) { before = fingerprint(s.Engine) })
	err := tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
		_ = tx.Engine.RemoveMembers(tx.Op, gid(1), []string{uid(2)})
		panic("boom")
	})
	if allot.ErrorCode(err) != allot.EINTERNAL {
		t.Fatalf("want internal error, got %v", err)
	}
	var after string
	tn.Read(func(s *State) { after = fingerprint(s.Engine) })
	if before != after || fingerprint(tn.writer.Engine) != before {
		t.Fatal("a panicking command left a change behind")
	}
}

func TestCloseFinishesQueuedCommands(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 50; i++ {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := uid(5000 + i)
			err := tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
				return tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id})
			})
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	rt2 := newRuntime(t, st)
	tn2, _ := rt2.Get(tid)
	n := 0
	tn2.Read(func(s *State) { n = s.Engine.UserCount() })
	if n != 5+ok {
		t.Fatalf("acknowledged %d commands but %d users survived", ok, n-5)
	}
}

func auditQuery(tenantID string) audit.Query { return audit.Query{TenantID: tenantID, Limit: 10000} }

func TestCustomProductsSurviveRestart(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	sku := catalog.NewSKU("ACME", "Acme", []catalog.Plan{{Name: "ACME_CORE"}})
	err := tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
		cat, err := catalog.Default().WithCustom([]catalog.SKU{sku})
		if err != nil {
			return err
		}
		if err := tx.Engine.SetCatalog(cat); err != nil {
			return err
		}
		if err := tx.Put(store.KindProduct, sku.ID, sku); err != nil {
			return err
		}
		return tx.Engine.SetUnits(tx.Op, sku.ID, licensing.Units{Enabled: 7})
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Close(context.Background())
	tn2, _ := newRuntime(t, st).Get(tid)
	tn2.Read(func(s *State) {
		if p, ok := s.Engine.Pool(sku.ID); !ok || p.Units.Enabled != 7 || !p.SKU.Custom {
			t.Fatalf("custom product after restart: %+v %v", p, ok)
		}
	})
}

// TestRefusedCommandChangesNothing: a command that changes the state and
// then returns an error (here: removes a member, writes an object and then
// refuses) leaves nothing behind — not in the readers' copy, not in the
// writer's, not in the store — while the commands batched with it apply.
func TestRefusedCommandChangesNothing(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	ctx := context.Background()
	refused := errors.New("refused after a change")
	bad := func(n int) func(tx *Tx) error {
		return func(tx *Tx) error {
			if err := tx.Engine.RemoveMembers(tx.Op, gid(1), []string{uid(1 + n%5)}); err != nil {
				return err
			}
			if err := tx.Put(store.KindSubscription, fmt.Sprintf("bad%d", n), map[string]int{"n": n}); err != nil {
				return err
			}
			return allot.Errorf(allot.EINVALID, "%v", refused)
		}
	}
	// Alone in its batch.
	var before string
	tn.Read(func(s *State) { before = fingerprint(s.Engine) })
	if err := tn.Do(ctx, licensing.Op{Actor: "t"}, bad(0)); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("want the command's own error, got %v", err)
	}
	var after string
	tn.Read(func(s *State) { after = fingerprint(s.Engine) })
	if before != after || fingerprint(tn.writer.Engine) != before {
		t.Fatal("a refused command left a change behind")
	}
	// Mixed with good commands in whatever batches the writer forms: the
	// good ones (new users) all apply, the bad ones leave nothing.
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 1 {
				errs[i] = tn.Do(ctx, licensing.Op{Actor: "t"}, bad(i))
				return
			}
			errs[i] = tn.Do(ctx, licensing.Op{Actor: "t"}, func(tx *Tx) error {
				return tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(100 + i), UserPrincipalName: fmt.Sprintf("n%d@contoso.example", i), UsageLocation: "US", AccountEnabled: true})
			})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if (i%2 == 1) != (err != nil) {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	check := func(tn *Tenant) {
		t.Helper()
		tn.Read(func(s *State) {
			if us, _ := s.Engine.Members(gid(1)); len(us) != 5 {
				t.Fatalf("members after refused removals: %v", us)
			}
			if n := s.Engine.UserCount(); n != 25 {
				t.Fatalf("users: %d, want 25", n)
			}
			var subs []string
			for id := range s.objects[store.KindSubscription] {
				subs = append(subs, id)
			}
			if len(subs) != 0 {
				t.Fatalf("objects written by refused commands: %v", subs)
			}
		})
	}
	check(tn)
	var w, r string
	tn.Read(func(s *State) { r = fingerprint(s.Engine) })
	w = fingerprint(tn.writer.Engine)
	if w != r {
		t.Fatal("writer's and readers' copies differ")
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	tn2, ok := newRuntime(t, st).Get(tid)
	if !ok {
		t.Fatal("tenant not loaded")
	}
	check(tn2)
}

// TestDeletedUserAssignedThroughAnAllotmentStaysDeleted: a user assigned
// directly through an allotment and then deleted leaves nothing in the
// store, so the tenant loads again after a restart.
func TestDeletedUserAssignedThroughAnAllotmentStaysDeleted(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	ctx := context.Background()
	e3 := sku(t, "SPE_E3")
	if err := tn.Do(ctx, licensing.Op{Actor: "t"}, func(tx *Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, e3, licensing.Units{Enabled: 10}); err != nil {
			return err
		}
		if err := tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "a1", DisplayName: "A", SKUID: e3, AllottedUnits: 1, AssignableTo: "user,group"}); err != nil {
			return err
		}
		return tx.Engine.AssignThroughAllotment(tx.Op, "a1", uid(1), nil)
	}); err != nil {
		t.Fatal(err)
	}
	if err := tn.Do(ctx, licensing.Op{Actor: "t"}, func(tx *Tx) error { return tx.Engine.DeleteUser(tx.Op, uid(1)) }); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rt2, err := Open(ctx, st, catalog.Default(), testOptions(Options{}))
	if err != nil {
		t.Fatalf("the tenant does not load after the deletion: %v", err)
	}
	tn2, ok := rt2.Get(tid)
	if !ok {
		t.Fatal("tenant not loaded")
	}
	tn2.Read(func(s *State) {
		if _, ok := s.Engine.User(uid(1)); ok {
			t.Fatal("the deleted user came back")
		}
	})
}

// Between runs its function on the writer between two batches: after the
// command running when it was queued has committed, before a command
// queued after it.
func TestBetweenRunsBetweenBatches(t *testing.T) {
	rt := newRuntime(t, openSQLite(t))
	tn := seed(t, rt)
	ctx := context.Background()
	var mu sync.Mutex
	var order []string
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = tn.Do(ctx, licensing.Op{}, func(tx *Tx) error {
			close(started)
			<-release
			note("first")
			return nil
		})
	})
	<-started
	wg.Go(func() {
		if err := tn.Between(ctx, func() error { note("between"); return nil }); err != nil {
			t.Error(err)
		}
	})
	queued := func(n int) {
		for len(tn.cmds) < n {
			time.Sleep(time.Millisecond)
		}
	}
	queued(1) // Between, behind the first
	wg.Go(func() {
		_ = tn.Do(ctx, licensing.Op{}, func(tx *Tx) error { note("second"); return nil })
	})
	queued(2)
	close(release)
	wg.Wait()
	if got := strings.Join(order, " "); got != "first between second" {
		t.Errorf("order %q, want first between second", got)
	}
	if err := tn.Between(ctx, func() error { return errors.New("refused") }); err == nil || err.Error() != "refused" {
		t.Errorf("Between's error: %v, want fn's", err)
	}
}
