package tenant

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"allot/licensing"
	"allot/store"
)

// After every batch, what readers see is exactly the writer's state: random
// commands — several at once, so that they share batches, some refused
// after changing the state (the discard path) — and after each round the
// readers' copy (which applies each committed change, State.apply) and a
// snapshot of the writer's copy, taken between two batches at the same
// commit, have the same engine state — down to what the engine derives
// (licensing.Diff: seats, waiting rooms, error counts, claim flags, rules)
// — and the same objects.
func TestReadersSeeTheWriterStateAfterEveryBatch(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(5, 17))
	e3, e5 := sku(t, "SPE_E3"), sku(t, "SPE_E5")
	skus := []string{e3, e5}
	groups := []string{gid(1), gid(2), gid(3), gid(4)}
	refused := errors.New("refused after a change")
	command := func(r *rand.Rand) func(*Tx) error { return randomCommand(r, skus, groups, e5, refused, true) }
	for _, g := range groups[1:] {
		if err := tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
			return tx.Engine.PutGroup(tx.Op, licensing.Group{ID: g, DisplayName: g, SecurityEnabled: true})
		}); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 150 {
		var wg sync.WaitGroup
		for range 1 + rnd.IntN(8) {
			fn := command(rand.New(rand.NewPCG(uint64(round), rnd.Uint64())))
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = tn.Do(ctx, licensing.Op{Actor: "test"}, fn) // refusals are part of the test
			}()
		}
		wg.Wait()
		snap, err := tn.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var readers, commit, diff string
		tn.Read(func(s *State) {
			readers = fingerprint(s.Engine) + objectsFingerprint(s)
			commit = fmt.Sprint(s.Commit())
			diff = licensing.Diff(snap.Engine, s.Engine)
		})
		if diff != "" {
			t.Fatalf("round %d: the readers' engine differs from the writer's: %s", round, diff)
		}
		if fmt.Sprint(snap.Commit()) != commit {
			t.Fatalf("round %d: the snapshot is of commit %d, readers see %s", round, snap.Commit(), commit)
		}
		if w := fingerprint(snap.Engine) + objectsFingerprint(snap); w != readers {
			i := 0
			for i < len(w) && i < len(readers) && w[i] == readers[i] {
				i++
			}
			from := max(0, i-300)
			t.Fatalf("round %d: readers' state differs from the writer's at byte %d:\nwriter  …%s\nreaders …%s", round, i,
				w[from:min(len(w), i+200)], readers[from:min(len(readers), i+200)])
		}
	}
}

// objectsFingerprint lists a state's non-engine objects of the kinds the
// test writes.
func objectsFingerprint(s *State) string {
	out := ""
	for _, id := range s.IDs(store.KindSetting) {
		b, _ := s.Object(store.KindSetting, id)
		out += id + "=" + string(b) + ";"
	}
	return out
}

// randomCommand draws one command of the readers' test from r: users,
// members, group and user licenses, units, deletes, all-or-none groups,
// settings, nested groups, an allotment, and other objects (refused after a
// change, one time in three). Users are deleted only with deletes (else
// that draw removes a member).
func randomCommand(r *rand.Rand, skus, groups []string, e5 string, refused error, deletes bool) func(*Tx) error {
	u := uid(1 + r.IntN(40))
	g := groups[r.IntN(len(groups))]
	s := skus[r.IntN(len(skus))]
	switch r.IntN(16) {
	case 0:
		loc := []string{"US", "DE", ""}[r.IntN(3)]
		return func(tx *Tx) error {
			return tx.Engine.PutUser(tx.Op, licensing.User{ID: u, UserPrincipalName: u + "@contoso.example", UsageLocation: loc, AccountEnabled: true})
		}
	case 1:
		return func(tx *Tx) error { return tx.Engine.AddMembers(tx.Op, g, []string{u}) }
	case 2:
		return func(tx *Tx) error { return tx.Engine.RemoveMembers(tx.Op, g, []string{u}) }
	case 3:
		return func(tx *Tx) error {
			return tx.Engine.AssignGroupLicenses(tx.Op, g, []licensing.AssignedLicense{{SKUID: s}}, nil)
		}
	case 4:
		return func(tx *Tx) error { return tx.Engine.AssignGroupLicenses(tx.Op, g, nil, []string{s}) }
	case 5:
		n := r.IntN(12)
		return func(tx *Tx) error { return tx.Engine.SetUnits(tx.Op, s, licensing.Units{Enabled: n}) }
	case 6:
		if !deletes {
			return func(tx *Tx) error { return tx.Engine.RemoveMembers(tx.Op, g, []string{u}) }
		}
		return func(tx *Tx) error { return tx.Engine.DeleteUser(tx.Op, u) }
	case 8: // all-or-none groups bundle their products
		mode := []string{licensing.ModeAllOrNone, licensing.ModePerProduct}[r.IntN(2)]
		return func(tx *Tx) error {
			return tx.Engine.PutGroup(tx.Op, licensing.Group{ID: g, DisplayName: g, SecurityEnabled: true, AssignmentMode: mode})
		}
	case 9:
		return func(tx *Tx) error {
			return tx.Engine.AssignUserLicenses(tx.Op, u, []licensing.AssignedLicense{{SKUID: s}}, nil)
		}
	case 10:
		return func(tx *Tx) error { return tx.Engine.AssignUserLicenses(tx.Op, u, nil, []string{s}) }
	case 11: // nested groups and the default location change everyone's sources
		nested, loc := r.IntN(2) == 0, []string{"US", ""}[r.IntN(2)]
		return func(tx *Tx) error {
			return tx.Engine.SetSettings(tx.Op, licensing.Settings{DefaultUsageLocation: loc, NestedGroups: nested})
		}
	case 12:
		parent := groups[r.IntN(len(groups))]
		return func(tx *Tx) error { return tx.Engine.AddMembers(tx.Op, parent, []string{g}) }
	case 13: // an allotment of E5, and seats through it
		n := r.IntN(4)
		return func(tx *Tx) error {
			if _, ok := tx.Engine.AllotmentByID("allot-1"); !ok || n == 0 {
				return tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "allot-1", DisplayName: "Pilot", SKUID: e5, AllottedUnits: n, AssignableTo: "user,group"})
			}
			return tx.Engine.AssignThroughAllotment(tx.Op, "allot-1", u, nil)
		}
	case 14:
		return func(tx *Tx) error { return tx.Engine.RemoveFromAllotment(tx.Op, "allot-1", u) }
	default:
		id := fmt.Sprint("note-", r.IntN(5))
		fail := r.IntN(3) == 0
		return func(tx *Tx) error {
			if err := tx.Put(store.KindSetting, id, map[string]string{"by": u}); err != nil {
				return err
			}
			if fail {
				return refused // changed an object, then refused: discarded
			}
			return nil
		}
	}
}
