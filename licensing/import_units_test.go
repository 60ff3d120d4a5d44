package licensing

import (
	"testing"
	"time"
)

// An import restores the seats its data says were held even beyond the
// assignable units: holders of a suspended or locked-out subscription keep
// their assignments ("What if my subscription expires?"), so a tenant
// exported while suspended comes back with the same holders. The seats go
// to the oldest claims, within the units.
func TestImportKeepsSeatsHeldInSuspendedUnits(t *testing.T) {
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	data := func() ImportData {
		d := ImportData{}
		for i := 1; i <= 4; i++ {
			id := gid("u", i)
			d.Users = append(d.Users, User{ID: id, UserPrincipalName: id + "@t", AccountEnabled: true, UsageLocation: "US"})
			d.DirectLicenses = append(d.DirectLicenses, OwnedSource{Owner: id, LicenseSource: LicenseSource{SKUID: skuE3, AssignedAt: base}})
			// Users 1-3 held seats; user 4, the youngest claim, waited.
			d.Seats = append(d.Seats, License{UserID: id, SKUID: skuE3, LicenseState: LicenseState{Claimed: true, Since: InstantOf(base.Add(time.Duration(i) * time.Hour)), Held: i <= 3, HeldSince: InstantOf(base.Add(time.Duration(i) * time.Hour))}})
		}
		return d
	}
	for _, into := range []string{"empty", "existing"} {
		t.Run(into, func(t *testing.T) {
			f := newFixture(t)
			f.must(f.e.SetUnits(f.op(), skuE3, Units{Suspended: 2, LockedOut: 1}))
			if into == "existing" {
				f.user(99)
			}
			if _, err := f.e.Import(f.op(), data()); err != nil {
				t.Fatal(err)
			}
			for i, want := range []bool{true, true, true, false} {
				if got := f.holds(gid("u", i+1), skuE3); got != want {
					t.Errorf("user %d holds %v, want %v", i+1, got, want)
				}
			}
			p, _ := f.e.Pool(skuE3)
			if p.Consumed != 3 || p.Waiting != 1 {
				t.Fatalf("pool %+v", p)
			}
			if err := checkInvariants(f.e); err != nil {
				t.Fatal(err)
			}
			n := reloadWith(t, f.e, f.now, true, 1)
			if d := n.TakeDelta(); len(d.Licenses) != 0 {
				t.Fatalf("a full recompute changed %d licenses", len(d.Licenses))
			}
		})
	}
}
