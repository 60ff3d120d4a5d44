package licensing

import (
	"math/rand"
	"testing"
)

// undoWith sets back what d names to before's values, as the tenant
// runtime does (tenant/try.go, through the stored records): an Applier fed
// before's records under d's keys, finished at before's clock, then
// Rewind.
func undoWith(e, before *Engine, d *Delta) error {
	a := e.NewApplier()
	if d.Settings {
		a.Settings(before.settings)
	}
	for id := range d.Pools {
		if p, ok := before.pools[id]; ok {
			a.Units(id, p.units)
		}
	}
	for id := range d.Allotments {
		if x, ok := before.allotments[id]; ok {
			al := x.Allotment
			a.Allotment(id, &al)
		} else {
			a.Allotment(id, nil)
		}
	}
	for id := range d.Users {
		if u, ok := before.User(id); ok {
			a.User(id, &u)
		} else {
			a.User(id, nil)
		}
	}
	for id := range d.Groups {
		if g, ok := before.Group(id); ok {
			a.Group(id, &g)
		} else {
			a.Group(id, nil)
		}
	}
	for k := range d.Members {
		a.Member(k[0], k[1], before.IsGroup(k[1]) || e.IsGroup(k[1]), before.IsMember(k[0], k[1]))
	}
	source := func(list []LicenseSource, key string) *LicenseSource {
		for i := range list {
			s := list[i]
			if k := s.SKUID; (s.AllotmentID == "" && k == key) || k+"/"+s.AllotmentID == key {
				return &s
			}
		}
		return nil
	}
	for k := range d.GroupLicenses {
		a.GroupLicense(k[0], k[1], source(before.GroupLicenses(k[0]), k[1]))
	}
	for k := range d.DirectLicenses {
		a.DirectLicense(k[0], k[1], source(before.DirectLicenses(k[0]), k[1]))
	}
	seen := map[Key2]bool{}
	for _, k := range d.Licenses {
		if seen[k] {
			continue
		}
		seen[k] = true
		if l, ok := before.LicenseByKey(k[0], k[1]); ok {
			a.License(k[0], k[1], &l)
		} else {
			a.License(k[0], k[1], nil)
		}
	}
	if err := a.Finish(before.clock); err != nil {
		return err
	}
	return e.Rewind(before, d)
}

// Commands undone in place leave the engine exactly as before them: the
// property test's random commands (every command of the engine, refusals,
// kept sources, bundles, allotments, dynamic groups, deletions and
// restores, units in every state, clocks going backwards), a random run of
// them on a copy of a random engine, then set back with an Applier of the
// engine before's records under the delta's keys and Rewind. Afterwards
// the engine is the one before by Diff (every record and what the engine
// derives) and by DiffChanged, a full recompute of it changes no record,
// and it goes on running commands as the engine before does.
func TestPropertyUndoInPlaceRestoresTheEngine(t *testing.T) {
	seeds, steps := 12, 300
	if testing.Short() {
		seeds, steps = 4, 150
	}
	undone := 0
	for s := int64(1); s <= int64(seeds); s++ {
		f := newFixture(t)
		r := &propRun{f: f, rnd: rand.New(rand.NewSource(s))}
		for i := 0; i < steps; i++ {
			r.step()
			if i%7 != 6 {
				continue
			}
			f.e.TakeDelta()
			before := f.e.Clone()
			for range 1 + r.rnd.Intn(8) {
				r.step()
			}
			d := *f.e.PeekDelta()
			if d.Empty() {
				continue
			}
			undone++
			f.e.delta = Delta{} // the undo's own delta is not d's
			if err := undoWith(f.e, before, &d); err != nil {
				t.Fatalf("seed %d step %d: %v\n%s", s, i, err, r.log.String())
			}
			if diff := DiffChanged(f.e, before, &d); diff != "" {
				t.Fatalf("seed %d step %d: DiffChanged: %s", s, i, diff)
			}
			if diff := Diff(f.e, before); diff != "" {
				t.Fatalf("seed %d step %d: %s", s, i, diff)
			}
			f.e.TakeDelta()
			full := f.e.Clone()
			full.Recompute(Op{Now: full.clock, Actor: "test"})
			if d := full.TakeDelta(); len(d.Licenses) > 0 {
				t.Fatalf("seed %d step %d: a full recompute changes %d records, e.g. %v", s, i, len(d.Licenses), d.Licenses[0])
			}
			// The deleted items of the runs are the engine before's again.
			r.deletedUsers, r.deletedGroups = nil, nil
		}
	}
	if undone < seeds*steps/14 {
		t.Fatalf("only %d undos: the test is too weak", undone)
	}
}

// DiffChanged finds a difference in what the delta names and nothing
// else; Rewind refuses to drop a pool that still holds a seat.
func TestDiffChangedAndRewindRefuse(t *testing.T) {
	f := newFixture(t)
	e3 := skuE3
	f.must(f.e.SetUnits(f.op(), e3, Units{Enabled: 2}))
	f.must(f.e.PutUser(f.op(), User{ID: "u1", UserPrincipalName: "u1@x.example", UsageLocation: "US", AccountEnabled: true}))
	f.must(f.e.PutUser(f.op(), User{ID: "u2", UserPrincipalName: "u2@x.example", UsageLocation: "US", AccountEnabled: true}))
	f.e.TakeDelta()
	before := f.e.Clone()
	f.must(f.e.PutUser(f.op(), User{ID: "u2", UserPrincipalName: "u2@x.example", DisplayName: "Two", UsageLocation: "US", AccountEnabled: true}))
	d := f.e.TakeDelta()
	f.e.clock = before.clock
	if DiffChanged(f.e, before, &d) == "" {
		t.Fatal("a user's new name is not a difference")
	}
	if diff := DiffChanged(f.e, before, &Delta{}); diff != "" {
		t.Fatalf("a user the delta does not name was compared: %s", diff)
	}
	f.must(f.e.AssignUserLicenses(f.op(), "u1", []AssignedLicense{{SKUID: e3}}, nil))
	d = f.e.TakeDelta()
	if DiffChanged(f.e, before, &d) == "" {
		t.Fatal("a license assigned is not a difference")
	}
	empty := New(f.e.cat, f.e.settings)
	if err := f.e.Rewind(empty, &d); err == nil {
		t.Fatal("a pool holding a seat was dropped")
	}
	if _, ok := f.e.Pool(e3); !ok {
		t.Fatal("the pool went")
	}
}
