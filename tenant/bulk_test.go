package tenant

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/store/statelog"
	"allot/synth"
)

// importData is a synthetic tenant with more engine records than bulkMin.
func importData(t testing.TB) licensing.ImportData {
	t.Helper()
	s := synth.Generate(catalog.Default(), synth.Config{Users: 8000, Groups: 80, GroupLicenses: 40, MembershipsPerUser: 2, Seed: 7})
	d := licensing.ImportData{Units: map[string]int{}, Users: s.Users, Groups: s.Groups, Members: s.Members}
	for id, u := range s.Units {
		d.Units[id] = u.Enabled
	}
	for _, owners := range []struct {
		m   map[string][]licensing.LicenseSource
		dst *[]licensing.OwnedSource
	}{{s.GroupLicenses, &d.GroupLicenses}, {s.DirectLicenses, &d.DirectLicenses}} {
		for owner, ls := range owners.m {
			for _, l := range ls {
				*owners.dst = append(*owners.dst, licensing.OwnedSource{Owner: owner, LicenseSource: l})
			}
		}
		sort.Slice(*owners.dst, func(i, j int) bool { return (*owners.dst)[i].Owner < (*owners.dst)[j].Owner })
	}
	if n := len(d.Users) + len(d.Members); n < bulkMin {
		t.Fatalf("only %d records: not a bulk import", n)
	}
	return d
}

// bulkStore counts CommitBulk calls and can fail the next one.
type bulkStore struct {
	store.Store
	bulks, objects atomic.Int64
	mu             sync.Mutex
	fail           bool
}

func (b *bulkStore) CommitBulk(ctx context.Context, c store.Change, next func() ([]store.Object, error)) error {
	b.mu.Lock()
	fail := b.fail
	b.fail = false
	b.mu.Unlock()
	b.bulks.Add(1)
	counted := func() ([]store.Object, error) {
		objs, err := next()
		b.objects.Add(int64(len(objs)))
		if fail && b.objects.Load() > 10_000 {
			return nil, errors.New("disk full")
		}
		return objs, err
	}
	return b.Store.CommitBulk(ctx, c, counted)
}

func newEmptyTenant(t *testing.T, rt *Runtime) *Tenant {
	t.Helper()
	tn, err := rt.Create(context.Background(), store.Tenant{ID: tid, CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// countIndex is a read model that remembers how many users the state it
// was built from had.
type countIndex struct{ users int }

func (*countIndex) Update(*State, licensing.Delta) {}

var (
	countBuilds atomic.Int64
	countKey    = NewIndexKey("test/count", func(s *State) *countIndex {
		countBuilds.Add(1)
		return &countIndex{users: s.Engine.UserCount()}
	})
)

// A bulk import into an empty tenant is streamed to the store, published
// by swapping copies, replayed on the other copy only when the next command
// comes, and a restart loads exactly what was imported.
func TestBulkImportIsStreamedSwappedAndSurvivesRestart(t *testing.T) {
	bs := &bulkStore{Store: openSQLite(t)}
	rt := newRuntime(t, bs)
	tn := newEmptyTenant(t, rt)
	builds := countBuilds.Load()
	tn.Read(func(s *State) { IndexOf(s, countKey) })
	if countBuilds.Load() != builds {
		t.Fatal("a read built the index: it must exist when the tenant is published")
	}

	data := importData(t)
	var c0 uint64
	tn.Read(func(s *State) { c0 = s.Commit() })
	var runs atomic.Int64
	err := tn.DoBulk(context.Background(), licensing.Op{Actor: "test"}, func(tx *Tx) error {
		runs.Add(1)
		_, err := tx.Engine.Import(tx.Op, data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if bs.bulks.Load() != 1 || bs.objects.Load() < int64(len(data.Users)+len(data.Members)) {
		t.Fatalf("CommitBulk calls %d, objects %d: the import was not streamed", bs.bulks.Load(), bs.objects.Load())
	}
	if runs.Load() != 1 {
		t.Fatalf("the import ran %d times before the acknowledgement, want 1 (no replay)", runs.Load())
	}
	if n := countBuilds.Load() - builds; n != 1 {
		t.Fatalf("index built %d times since the load, want once, before the swap was published", n)
	}
	var imported string
	tn.Read(func(s *State) {
		imported = fingerprint(s.Engine)
		if s.Engine.UserCount() != len(data.Users) {
			t.Fatalf("readers see %d users", s.Engine.UserCount())
		}
		if n := IndexOf(s, countKey).users; n != len(data.Users) {
			t.Fatalf("the index after the swap was built from %d users, want %d", n, len(data.Users))
		}
	})
	// A snapshot is made from the writer's copy, which must first catch up
	// with the import it did not run; it is the commit the readers see.
	var commit uint64
	tn.Read(func(s *State) { commit = s.Commit() })
	snap, err := tn.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(snap.Engine) != imported || snap.Commit() != commit || commit != c0+1 {
		t.Fatalf("snapshot after the swap: commit %d (readers %d, before the import %d), same engine %v", snap.Commit(), commit, c0, fingerprint(snap.Engine) == imported)
	}

	// The writer's copy was brought up to date (by the snapshot above,
	// else by the next command) without running the import again.
	if err := tn.Do(context.Background(), licensing.Op{Actor: "test"}, func(tx *Tx) error {
		return tx.Engine.RemoveMembers(tx.Op, data.Members[0][0], []string{data.Members[0][1]})
	}); err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 1 {
		t.Fatalf("the import ran %d times after the next command, want 1 (the writer's copy is a snapshot, not a replay)", runs.Load())
	}
	var reader string
	tn.Read(func(s *State) { reader = fingerprint(s.Engine) })
	if w := fingerprint(tn.writer.Engine); w != reader {
		t.Fatal("after the catch-up, the writer's copy differs from the readers'")
	}
	if reader == imported {
		t.Fatal("the command after the import changed nothing")
	}
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tn2, _ := newRuntime(t, bs).Get(tid)
	var after string
	tn2.Read(func(s *State) { after = fingerprint(s.Engine) })
	if after != reader {
		t.Fatal("the state loaded after a restart differs from the committed one")
	}
}

// Closing the runtime right after a bulk import (the CLI) loses nothing:
// the import is durable when DoBulk returns, and a restart loads it.
func TestBulkImportThenCloseLoadsExactlyTheImport(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := newEmptyTenant(t, rt)
	data := importData(t)
	var runs atomic.Int64
	if err := tn.DoBulk(context.Background(), licensing.Op{Actor: "test"}, func(tx *Tx) error {
		runs.Add(1)
		_, err := tx.Engine.Import(tx.Op, data)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := closeAfterFingerprint(t, rt, tn)
	if runs.Load() != 1 {
		t.Fatalf("the import ran %d times, want once", runs.Load())
	}
	// No start-up repair either: the stored license state is the computed one.
	seq, err := st.MaxAuditSeq(context.Background(), tid)
	if err != nil {
		t.Fatal(err)
	}
	tn2, _ := newRuntime(t, st).Get(tid)
	var after string
	tn2.Read(func(s *State) { after = fingerprint(s.Engine) })
	if after != before {
		t.Fatal("the state loaded after a restart differs from the import")
	}
	if seq2, _ := st.MaxAuditSeq(context.Background(), tid); seq2 != seq {
		t.Fatalf("the restart repaired the stored state (audit seq %d → %d)", seq, seq2)
	}
}

// A bulk commit that fails changes nothing, in memory or in the store.
func TestFailedBulkCommitChangesNothing(t *testing.T) {
	bs := &bulkStore{Store: openSQLite(t)}
	rt := newRuntime(t, bs)
	tn := newEmptyTenant(t, rt)
	var before string
	tn.Read(func(s *State) { before = fingerprint(s.Engine) })
	bs.mu.Lock()
	bs.fail = true
	bs.mu.Unlock()
	data := importData(t)
	err := tn.DoBulk(context.Background(), licensing.Op{Actor: "test"}, func(tx *Tx) error {
		_, err := tx.Engine.Import(tx.Op, data)
		return err
	})
	if allot.ErrorCode(err) != allot.EINTERNAL {
		t.Fatalf("want an internal error, got %v", err)
	}
	if bs.bulks.Load() != 1 {
		t.Fatalf("CommitBulk calls %d, want 1", bs.bulks.Load())
	}
	var after string
	tn.Read(func(s *State) { after = fingerprint(s.Engine) })
	if after != before || fingerprint(tn.writer.Engine) != before {
		t.Fatal("a failed bulk commit changed the state in memory")
	}
	n := 0
	if err := bs.LoadObjects(context.Background(), tid, func(o store.Object) error {
		if o.Kind == store.KindUser || o.Kind == store.KindMember || o.Kind == store.KindLicense {
			n++
		}
		return nil
	}); err != nil || n != 0 {
		t.Fatalf("the store holds %d records after a failed bulk commit (%v)", n, err)
	}
	// The import can be retried and then works.
	if err := tn.DoBulk(context.Background(), licensing.Op{Actor: "test"}, func(tx *Tx) error {
		_, err := tx.Engine.Import(tx.Op, data)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *State) {
		if s.Engine.UserCount() != len(data.Users) {
			t.Fatalf("%d users after the retry", s.Engine.UserCount())
		}
	})
}

func (t *Tenant) queued() int { return len(t.cmds) }

// A bulk command queued between ordinary ones keeps its place: it ends the
// batch before it and the commands after it run after it.
func TestBulkCommandKeepsItsPlaceInTheQueue(t *testing.T) {
	rt := newRuntime(t, openSQLite(t))
	tn := seed(t, rt)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var order []string
	block := make(chan struct{})
	wg.Add(1)
	go func() { // holds the writer so that the others queue up
		defer wg.Done()
		tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
			<-block
			return nil
		})
	}()
	for tn.queued() > 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	names := []string{"plain1", "plain2", "bulk", "plain3", "bulk2", "plain4"}
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn := func(tx *Tx) error {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return nil
			}
			var err error
			if name[0] == 'b' {
				err = tn.DoBulk(context.Background(), licensing.Op{}, fn)
			} else {
				err = tn.Do(context.Background(), licensing.Op{}, fn)
			}
			if err != nil {
				t.Error(err)
			}
		}()
		for tn.queued() < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	close(block)
	wg.Wait()
	if got, want := fmt.Sprint(order), fmt.Sprint(names); got != want {
		t.Fatalf("commands ran in the order %s, want %s", got, want)
	}
}

// A restart loads a snapshot of many parts, whose memory the load reuses
// (store.LoadOptions.Transient, poisoned before reuse: TestMain), with
// records of the log after it that replace snapshot records (a user, a
// license record, a membership): the state loaded is the one committed.
func TestLoadThatReusesThePartsEqualsTheCommittedState(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := newEmptyTenant(t, rt)
	data := importData(t)
	if err := tn.DoBulk(context.Background(), licensing.Op{Actor: "test"}, func(tx *Tx) error {
		_, err := tx.Engine.Import(tx.Op, data)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	objects := 0
	if _, err := st.(store.ChangeLog).LoadObjectsAt(context.Background(), tid, func(store.Object) error { objects++; return nil }); err != nil {
		t.Fatal(err)
	}
	if objects < 4*statelog.PartObjects {
		t.Fatalf("the snapshot holds %d objects: fewer than four parts, so none is reused", objects)
	}
	// Commands after the snapshot: their records replace snapshot records.
	u := data.Users[len(data.Users)/2]
	if err := tn.Do(context.Background(), licensing.Op{Actor: "test"}, func(tx *Tx) error {
		renamed := u
		renamed.DisplayName = "Renamed after the snapshot"
		if err := tx.Engine.PutUser(tx.Op, renamed); err != nil {
			return err
		}
		return tx.Engine.RemoveMembers(tx.Op, data.Members[0][0], []string{data.Members[0][1]})
	}); err != nil {
		t.Fatal(err)
	}
	before := closeAfterFingerprint(t, rt, tn)
	tn2, _ := newRuntime(t, st).Get(tid)
	var after string
	var name string
	tn2.Read(func(s *State) {
		after = fingerprint(s.Engine)
		got, _ := s.Engine.User(u.ID)
		name = got.DisplayName
	})
	if name != "Renamed after the snapshot" {
		t.Fatalf("the user renamed after the snapshot loads as %q", name)
	}
	if after != before {
		t.Fatal("the state loaded differs from the committed one")
	}
}

// closeAfterFingerprint returns the fingerprint of the tenant's state as
// readers see it, then closes the runtime.
func closeAfterFingerprint(t *testing.T, rt *Runtime, tn *Tenant) string {
	t.Helper()
	var fp string
	tn.Read(func(s *State) { fp = fingerprint(s.Engine) })
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return fp
}
