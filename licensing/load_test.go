package licensing

import (
	"strings"
	"testing"
	"unsafe"
)

// A loaded license record shares the engine's id strings (user, SKU,
// allotment, a source's group) instead of holding the decoder's copies;
// the values are unchanged. At a million users the copies were ~400 MB.
func TestLoadedLicenseSharesTheEnginesIDs(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	u := f.user(1)
	f.add(g, u)

	n := New(f.e.cat, f.e.settings)
	n.clock = f.e.clock
	for _, p := range f.e.sortedPools() {
		f.must(n.LoadUnits(p.sku.ID, p.units))
	}
	uu, _ := f.e.User(u)
	f.must(n.LoadUser(uu))
	gg, _ := f.e.Group(g)
	f.must(n.LoadGroup(gg))
	f.must(n.LoadMember(g, u))
	for _, gl := range f.e.GroupLicenses(g) {
		f.must(n.LoadGroupLicense(g, gl))
	}
	// The record as a decoder gives it: every string its own copy.
	l := f.e.Licenses(u)[0]
	l.UserID, l.SKUID = strings.Clone(l.UserID), strings.Clone(l.SKUID)
	l.Sources = append([]SourceState(nil), l.Sources...)
	for i := range l.Sources {
		l.Sources[i].AssignedByGroup = strings.Clone(l.Sources[i].AssignedByGroup)
	}
	f.must(n.LoadLicense(l))

	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	got := n.users[u].licenses[0]
	if got.UserID != u || !same(got.UserID, n.users[u].ID) {
		t.Errorf("UserID %q does not share the user's id", got.UserID)
	}
	if !same(got.SKUID, got.pool.sku.ID) {
		t.Errorf("SKUID %q does not share the SKU's id", got.SKUID)
	}
	if len(got.Sources) != 1 || got.Sources[0].AssignedByGroup != g || !same(got.Sources[0].AssignedByGroup, n.groups[g].ID) {
		t.Errorf("source group %+v does not share the group's id", got.Sources)
	}
	n.Recompute(f.op())
	if d := n.TakeDelta(); len(d.Licenses) != 0 {
		t.Errorf("the loaded state recomputes to changes: %+v", d.Licenses)
	}
}
