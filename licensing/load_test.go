package licensing

import (
	"fmt"
	"slices"
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
	if got.userID() != u {
		t.Errorf("the record's user is %q, want %q", got.userID(), u)
	}
	if len(got.Sources) != 1 || got.Sources[0].AssignedByGroup != g || !same(got.Sources[0].AssignedByGroup, n.groups[g].ID) {
		t.Errorf("source group %+v does not share the group's id", got.Sources)
	}
	n.Recompute(f.op())
	if d := n.TakeDelta(); len(d.Licenses) != 0 {
		t.Errorf("the loaded state recomputes to changes: %+v", d.Licenses)
	}
}

// Names indexed after the load (DeferUPNs, IndexUPNs) are the names a
// load that indexes each user as it comes gives: the first of two users
// whose names are one key keeps it.
func TestDeferredNameIndexEqualsTheDirectOne(t *testing.T) {
	users := []User{
		{ID: "u1", UserPrincipalName: "Ann@contoso.example"},
		{ID: "u2", UserPrincipalName: "ann@contoso.example"}, // one key with u1's
		{ID: "u3", UserPrincipalName: "bob@contoso.example"},
	}
	load := func(deferred bool) *Engine {
		e := New(testCatalog(t), Settings{})
		if deferred {
			e.DeferUPNs()
		}
		for _, u := range users {
			if err := e.LoadUser(u); err != nil {
				t.Fatal(err)
			}
		}
		if deferred {
			if _, ok := e.UserByUPN("bob@contoso.example"); ok {
				t.Fatal("a deferred name is indexed before IndexUPNs")
			}
			e.IndexUPNs()
		}
		return e
	}
	direct, deferred := load(false), load(true)
	for _, upn := range []string{"ann@contoso.example", "BOB@contoso.example"} {
		a, okA := direct.UserByUPN(upn)
		b, okB := deferred.UserByUPN(upn)
		if !okA || !okB || a.ID != b.ID {
			t.Fatalf("%s: direct %v %v, deferred %v %v", upn, a.ID, okA, b.ID, okB)
		}
	}
	if u, _ := deferred.UserByUPN("ann@contoso.example"); u.ID != "u1" {
		t.Fatalf("the name went to %s, want the first user", u.ID)
	}
	if d := Diff(direct, deferred); d != "" {
		t.Fatal(d)
	}
}

// Members lists user members by id whatever the engine's order of its
// users: the order of a load (by id), of an import (any), or of commands.
func TestMembersAreSortedByIDInAnyLoadOrder(t *testing.T) {
	for _, order := range [][]int{{1, 2, 3, 4}, {3, 1, 4, 2}, {4, 3, 2, 1}} {
		e := New(testCatalog(t), Settings{})
		var ids []string
		for _, n := range order {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
			ids = append(ids, id)
			if err := e.LoadUser(User{ID: id, UserPrincipalName: id + "@contoso.example"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.LoadGroup(Group{ID: "g", DisplayName: "G"}); err != nil {
			t.Fatal(err)
		}
		e.LoadMembers("g", ids, func(m string, err error) { t.Fatal(m, err) })
		us, _ := e.Members("g")
		want := []string{"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004"}
		if !slices.Equal(us, want) {
			t.Fatalf("load order %v: members %v, want %v", order, us, want)
		}
	}
}

// The license side of a load finds each record's user whatever the order
// of the records: the engine's order of its users (a cursor's hits),
// backwards, or scattered (the map).
func TestLoadedUserFoundInAnyRecordOrder(t *testing.T) {
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	for _, order := range [][]int{{0, 1, 1, 2, 5, 6, 30, 39}, {39, 20, 3, 2, 1, 0}, {7, 33, 7, 12, 0, 38, 19}} {
		f := newFixture(t)
		f.units(skuE3, 100)
		e := New(f.e.cat, f.e.settings)
		if err := e.LoadUnits(skuE3, f.e.pools[skuE3].units); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if err := e.LoadUser(User{ID: id, UserPrincipalName: id + "@contoso.example"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, i := range order {
			if err := e.LoadDirectLicense(ids[i], LicenseSource{SKUID: skuE3}); err != nil {
				t.Fatalf("order %v: %v", order, err)
			}
		}
		for _, i := range order {
			if len(e.users[ids[i]].direct) != 1 {
				t.Fatalf("order %v: user %d has %d direct licenses", order, i, len(e.users[ids[i]].direct))
			}
		}
		if err := e.LoadDirectLicense("00000000-0000-4000-8000-999999999999", LicenseSource{SKUID: skuE3}); err == nil {
			t.Fatal("a license of a missing user loaded")
		}
	}
}
