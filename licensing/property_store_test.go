package licensing

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"
)

// The stored records follow the deltas: a store that applies every delta
// (as the tenant runtime does) holds exactly the engine's records after
// every command — no record of a deleted user or group is left behind, and
// none is missing. And imports into an existing tenant keep the
// properties of the other commands (oldest claims hold the seats, a full
// recompute changes nothing) while keeping the imported claims exactly.

// recordSet is what a store holds of the engine's records, by kind.
type recordSet map[string]map[string]bool

func (s recordSet) set(kind, key string, put bool) {
	if s[kind] == nil {
		s[kind] = map[string]bool{}
	}
	if put {
		s[kind][key] = true
	} else {
		delete(s[kind], key)
	}
}

// apply applies a delta the way tenant.serialize does.
func (s recordSet) apply(e *Engine, d *Delta) {
	for id, put := range d.Users {
		_, ok := e.users[id]
		s.set("user", id, put && ok)
	}
	for id, put := range d.Groups {
		_, ok := e.groups[id]
		s.set("group", id, put && ok)
	}
	for k, put := range d.Members {
		s.set("member", k[0]+"/"+k[1], put)
	}
	for k := range d.GroupLicenses {
		_, ok := findSourceKey(e.GroupLicenses(k[0]), k[1])
		s.set("groupLicense", k[0]+"/"+k[1], ok)
	}
	for k := range d.DirectLicenses {
		_, ok := findSourceKey(e.DirectLicenses(k[0]), k[1])
		s.set("directLicense", k[0]+"/"+k[1], ok)
	}
	for _, k := range d.Licenses {
		_, ok := e.LicenseByKey(k[0], k[1])
		s.set("license", k[0]+"/"+k[1], ok)
	}
}

func findSourceKey(ls []LicenseSource, key string) (LicenseSource, bool) {
	for _, l := range ls {
		if sourceKey(&l) == key {
			return l, true
		}
	}
	return LicenseSource{}, false
}

// records lists the engine's records as a store keeps them.
func records(e *Engine) recordSet {
	s := recordSet{}
	for _, u := range e.all {
		s.set("user", u.ID, true)
		for i := range u.direct {
			s.set("directLicense", u.ID+"/"+sourceKey(&u.direct[i]), true)
		}
		for _, l := range u.licenses {
			s.set("license", u.ID+"/"+l.pool.key, true)
		}
	}
	for _, g := range e.groups {
		s.set("group", g.ID, true)
		for u := range g.members {
			s.set("member", g.ID+"/"+u.ID, true)
		}
		for c := range g.memberGroups {
			s.set("member", g.ID+"/"+c.ID, true)
		}
		for i := range g.licenses {
			s.set("groupLicense", g.ID+"/"+sourceKey(&g.licenses[i]), true)
		}
	}
	return s
}

func (s recordSet) diff(o recordSet) error {
	for _, kind := range []string{"user", "group", "member", "groupLicense", "directLicense", "license"} {
		for k := range s[kind] {
			if !o[kind][k] {
				return fmt.Errorf("stored %s %s is not a record of the engine (orphan)", kind, k)
			}
		}
		for k := range o[kind] {
			if !s[kind][k] {
				return fmt.Errorf("the engine's %s %s was never stored", kind, k)
			}
		}
	}
	return nil
}

// randomImport merges a few users with sources and seat claims of random
// past times into the tenant.
func (r *propRun) randomImport(op Op) (ImportData, error) {
	e, rnd := r.f.e, r.rnd
	var d ImportData
	var skus []string
	for id := range e.pools {
		skus = append(skus, id)
	}
	sort.Strings(skus)
	if len(skus) == 0 {
		return d, nil
	}
	seen := map[string]bool{}
	for i := rnd.Intn(3) + 1; i > 0; i-- {
		id := r.pickUser()
		if seen[id] {
			continue
		}
		seen[id] = true
		u := User{ID: id, UserPrincipalName: "u" + id[len(id)-3:] + "@t", AccountEnabled: true, UsageLocation: []string{"US", "DE", "KP"}[rnd.Intn(3)]}
		if cur, ok := e.users[id]; ok {
			u = *cur.User
		}
		d.Users = append(d.Users, u)
		sku := skus[rnd.Intn(len(skus))]
		src := LicenseSource{SKUID: sku, AssignedAt: op.Now.Add(-time.Duration(rnd.Intn(100)) * time.Hour)}
		if rnd.Intn(3) == 0 {
			for _, a := range e.Allotments() {
				if a.SKUID == sku {
					src.AllotmentID = a.ID
				}
			}
		}
		d.DirectLicenses = append(d.DirectLicenses, OwnedSource{Owner: id, LicenseSource: src})
		// Some seats say they were held: an import keeps that many seats
		// held (to the oldest claims) even beyond the assignable units.
		d.Seats = append(d.Seats, License{UserID: id, SKUID: sku, AllotmentID: src.AllotmentID, LicenseState: LicenseState{Claimed: true, Held: rnd.Intn(2) == 0, Since: InstantOf(op.Now.Add(-time.Duration(rnd.Intn(1000)) * time.Minute).Truncate(time.Microsecond))}})
	}
	_, err := e.Import(op, d)
	return d, err
}

func TestPropertyStoredRecordsFollowTheDeltasAndImportsKeepClaims(t *testing.T) {
	seeds, steps := 12, 400
	if testing.Short() {
		seeds, steps = 3, 200
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		f := newFixture(t)
		r := &propRun{f: f, rnd: rand.New(rand.NewSource(seed))}
		stored := recordSet{}
		imports := 0
		bundled := map[*pool]bool{}
		for i := 0; i < steps; i++ {
			stepStart := f.e.clock.Add(time.Nanosecond)
			var data ImportData
			if i%9 == 8 {
				op := f.op()
				var err error
				data, err = r.randomImport(op)
				fmt.Fprintf(&r.log, "import %d seats -> %v\n", len(data.Seats), err)
				if err == nil && len(data.Seats) > 0 {
					imports++
				} else {
					data = ImportData{}
				}
			} else {
				r.step()
			}
			d := f.e.TakeDelta()
			stored.apply(f.e, &d)
			if err := stored.diff(records(f.e)); err != nil {
				t.Fatalf("seed %d step %d: %v\n%s", seed, i, err, tail(r.log.String()))
			}
			if err := checkInvariants(f.e); err != nil {
				t.Fatalf("seed %d step %d: %v\n%s", seed, i, err, tail(r.log.String()))
			}
			if err := checkOldestFirst(f.e, bundled, stepStart); err != nil {
				t.Fatalf("seed %d step %d: %v\n%s", seed, i, err, tail(r.log.String()))
			}
			for _, s := range data.Seats {
				l := f.e.importedLicense(&s)
				if l != nil && l.Claimed && !l.Since.Equal(s.Since) {
					t.Fatalf("seed %d step %d: the claim of %s is %s, imported %s\n%s", seed, i, s.UserID, l.Since, s.Since, tail(r.log.String()))
				}
			}
			if i%9 == 8 {
				n := reloadWith(t, f.e, f.now, true, 1)
				if d := n.TakeDelta(); len(d.Licenses) != 0 {
					t.Fatalf("seed %d step %d: full recompute after an import changed %d licenses\n%s", seed, i, len(d.Licenses), tail(r.log.String()))
				}
				if a, b := dump(f.e), dump(n); a != b {
					t.Fatalf("seed %d step %d: full recompute differs after an import\n%s", seed, i, tail(r.log.String()))
				}
			}
		}
		if imports == 0 {
			t.Fatalf("seed %d: no import with seats ran; the test is too weak", seed)
		}
	}
}
