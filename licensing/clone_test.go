package licensing

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// A clone is equivalent and independent: two runs of the same random
// commands, one of which switches to a clone of its engine every few steps
// (and then wrecks the engine it left), give the same state and the same
// deltas after every step. Seeds alternate serial and 2- and 3-worker
// clones.
func TestCloneEquivalentAndIndependent(t *testing.T) {
	defer func(n int) { recomputeWorkers = n }(recomputeWorkers)
	for seed := int64(1); seed <= 6; seed++ {
		recomputeWorkers = 1 + int(seed%3)
		a := &propRun{f: newFixture(t), rnd: rand.New(rand.NewSource(seed))}
		b := &propRun{f: newFixture(t), rnd: rand.New(rand.NewSource(seed))}
		for i := range 600 {
			a.step()
			b.step()
			da, db := a.f.e.TakeDelta(), b.f.e.TakeDelta()
			if x, y := deltaLog(&da), deltaLog(&db); x != y {
				t.Fatalf("seed %d step %d: deltas differ\n--- reference\n%s--- cloned\n%s\n%s", seed, i, x, y, tail(b.log.String()))
			}
			if x, y := dump(a.f.e), dump(b.f.e); x != y {
				t.Fatalf("seed %d step %d: states differ\n--- reference\n%s--- cloned\n%s\n%s", seed, i, x, y, tail(b.log.String()))
			}
			if i%37 == 5 {
				old := b.f.e
				b.f.e = old.Clone()
				if x, y := dump(old), dump(b.f.e); x != y {
					t.Fatalf("seed %d step %d: clone differs from its original\n--- original\n%s--- clone\n%s", seed, i, x, y)
				}
				wreck(t, old, b.f.now.Add(time.Hour))
			}
		}
	}
}

// deltaLog renders a delta fully: its keys and its audit entries.
func deltaLog(d *Delta) string {
	var b strings.Builder
	b.WriteString(deltaKeys(d))
	for _, a := range d.Audit {
		fmt.Fprintf(&b, "%s|%s|%s|%s|%s|%s|%s|%s\n", a.At.Format(time.RFC3339Nano), a.Actor, a.Action, a.UserID, a.GroupID, a.SKUID, a.Why, a.Detail)
	}
	return b.String()
}

// wreck changes everything in e that a clone might share by mistake:
// sources, memberships, units, allotments, users.
func wreck(t *testing.T, e *Engine, now time.Time) {
	op := Op{Actor: "wreck", Now: now}
	for _, u := range e.all {
		var skus []string
		for _, d := range u.direct {
			if d.AllotmentID == "" {
				skus = append(skus, d.SKUID)
			}
		}
		_ = e.AssignUserLicenses(op, u.ID, nil, skus)
		_ = e.PutUser(op, User{ID: u.ID, UserPrincipalName: u.UserPrincipalName, UsageLocation: "KP", AccountEnabled: true})
	}
	for _, id := range e.GroupIDs() {
		var ms []string
		for u := range e.groups[id].members {
			ms = append(ms, u.ID)
		}
		_ = e.RemoveMembers(op, id, ms)
		for _, l := range e.groups[id].licenses {
			_ = e.AssignGroupLicenses(op, id, nil, []string{l.SKUID})
		}
	}
	for _, a := range e.Allotments() {
		_ = e.DeleteAllotment(op, a.ID)
	}
	for _, p := range e.allPools() {
		_ = e.SetUnits(op, p.sku.ID, Units{Status: "Enabled"})
	}
	for len(e.all) > 0 {
		if err := e.DeleteUser(op, e.all[0].ID); err != nil {
			t.Fatalf("wreck: %v", err)
		}
	}
	e.TakeDelta()
}
