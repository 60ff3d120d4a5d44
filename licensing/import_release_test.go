package licensing

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
)

// importFixture is an engine with units and an import's data for it: five
// users, two groups (g2 has a member group), four memberships.
func importFixture(t *testing.T) (*fixture, func() ImportData) {
	f := newFixture(t)
	f.units(skuE3, 10)
	f.e.TakeDelta()
	return f, func() ImportData {
		var d ImportData
		for i := 1; i <= 5; i++ {
			id := gid("u", i)
			d.Users = append(d.Users, User{ID: id, UserPrincipalName: fmt.Sprintf("user%d@test", i), AccountEnabled: true, UsageLocation: "US"})
		}
		for i := 1; i <= 2; i++ {
			d.Groups = append(d.Groups, Group{ID: gid("g", i), DisplayName: fmt.Sprintf("Group %d", i), SecurityEnabled: true})
		}
		d.Members = [][2]string{{gid("g", 1), gid("u", 1)}, {gid("g", 1), gid("u", 2)}, {gid("g", 2), gid("g", 1)}, {gid("g", 2), gid("u", 3)}}
		d.GroupLicenses = []OwnedSource{{Owner: gid("g", 2), LicenseSource: LicenseSource{SKUID: skuE3}}}
		return d
	}
}

// everyNew is the delta's sets of users and memberships when every one of
// the import's is new.
func everyNew(d ImportData) (map[string]bool, map[Key2]bool) {
	users, members := map[string]bool{}, map[Key2]bool{}
	for _, u := range d.Users {
		users[u.ID] = true
	}
	for _, m := range d.Members {
		members[Key2{m[0], m[1]}] = true
	}
	return users, members
}

// ImportFrom into an empty engine lets go of the rows it copied (the
// caller's d.Users and d.Members are nil after it), and the delta still
// lists every user and membership as new (TakeDelta), as Import's does.
func TestImportFromReleasesRowsAndKeepsTheDelta(t *testing.T) {
	f, data := importFixture(t)
	d := data()
	wantUsers, wantMembers := everyNew(d)
	st, err := f.e.ImportFrom(f.op(), &d)
	if err != nil {
		t.Fatal(err)
	}
	if d.Users != nil || d.Members != nil {
		t.Fatalf("ImportFrom kept the rows: %d users, %d memberships", len(d.Users), len(d.Members))
	}
	if st.Users != 5 || st.Groups != 2 || st.Members != 4 || st.Licenses != 1 {
		t.Fatalf("stats %+v", st)
	}
	got := f.e.TakeDelta()
	if !maps.Equal(got.Users, wantUsers) || !maps.Equal(got.Members, wantMembers) {
		t.Fatalf("delta users %v members %v, want %v %v", got.Users, got.Members, wantUsers, wantMembers)
	}
	if len(got.Groups) != 2 || len(got.GroupLicenses) != 1 || len(got.Licenses) == 0 {
		t.Fatalf("delta groups %v group licenses %v licenses %v", got.Groups, got.GroupLicenses, got.Licenses)
	}
	if err := checkInvariants(f.e); err != nil {
		t.Fatal(err)
	}
	// Import (by value) leaves the caller's data alone.
	g, data2 := importFixture(t)
	d2 := data2()
	if _, err := g.e.Import(g.op(), d2); err != nil {
		t.Fatal(err)
	}
	if len(d2.Users) != 5 || len(d2.Members) != 4 {
		t.Fatalf("Import changed the caller's data: %d users, %d memberships", len(d2.Users), len(d2.Members))
	}
	if d := g.e.TakeDelta(); !maps.Equal(d.Users, wantUsers) || !maps.Equal(d.Members, wantMembers) {
		t.Fatalf("Import's delta users %v members %v", d.Users, d.Members)
	}
}

// TakeBulkDelta leaves an import's users and memberships implied when
// there are at least min of them: only what commands changed after the
// import is listed (here a deletion); below min it is TakeDelta.
func TestTakeBulkDeltaImpliesAnImportsRecords(t *testing.T) {
	for _, min := range []int{1, 7, 8, 1000} {
		t.Run(fmt.Sprint(min), func(t *testing.T) {
			f, data := importFixture(t)
			d := data()
			wantUsers, wantMembers := everyNew(d)
			if _, err := f.e.ImportFrom(f.op(), &d); err != nil {
				t.Fatal(err)
			}
			f.must(f.e.DeleteUser(f.op(), gid("u", 2)))
			wantUsers[gid("u", 2)] = false
			wantMembers[Key2{gid("g", 1), gid("u", 2)}] = false
			got, allNew := f.e.TakeBulkDelta(min)
			if want := min <= 7; allNew != want { // 4 users and 3 memberships after the deletion
				t.Fatalf("allNew %v with 7 users and memberships, min %d", allNew, min)
			}
			if allNew {
				wantUsers = map[string]bool{gid("u", 2): false}
				wantMembers = map[Key2]bool{{gid("g", 1), gid("u", 2)}: false}
			}
			if !maps.Equal(got.Users, wantUsers) || !maps.Equal(got.Members, wantMembers) {
				t.Fatalf("delta users %v members %v, want %v %v", got.Users, got.Members, wantUsers, wantMembers)
			}
			// The next delta is an ordinary one.
			f.user(7)
			if next, allNew := f.e.TakeBulkDelta(1); allNew || len(next.Users) != 1 || len(next.Members) != 0 {
				t.Fatalf("next delta %v members %v allNew %v", next.Users, next.Members, allNew)
			}
		})
	}
}

// An import's memberships are loaded on two goroutines, the groups' side
// and the users' side (loadMembersSplit): a membership listed twice, even
// in two runs of its group, is held once on both sides, a user's groups
// keep the rows' order, a group member is checked as before, and a
// membership of a missing group is refused with its id.
func TestImportMembershipsBothSidesOnce(t *testing.T) {
	f, data := importFixture(t)
	d := data()
	g1, g2, u1, u2, u3 := gid("g", 1), gid("g", 2), gid("u", 1), gid("u", 2), gid("u", 3)
	d.Members = [][2]string{{g1, u1}, {g1, u2}, {g1, u1}, {g2, g1}, {g2, u3}, {g2, u1}, {g1, u3}, {g1, u2}}
	if _, err := f.e.ImportFrom(f.op(), &d); err != nil {
		t.Fatal(err)
	}
	groupsOf := func(id string) string {
		var out []string
		for _, g := range f.e.users[id].groups {
			out = append(out, g.ID)
		}
		return fmt.Sprint(out)
	}
	for id, want := range map[string]string{u1: fmt.Sprint([]string{g1, g2}), u2: fmt.Sprint([]string{g1}), u3: fmt.Sprint([]string{g2, g1})} {
		if got := groupsOf(id); got != want {
			t.Errorf("groups of %s: %s, want %s", id, got, want)
		}
	}
	if n1, n2 := len(f.e.groups[g1].members), len(f.e.groups[g2].members); n1 != 3 || n2 != 2 {
		t.Errorf("user members: %s has %d, %s has %d; want 3 and 2", g1, n1, g2, n2)
	}
	if _, ok := f.e.groups[g2].memberGroups[f.e.groups[g1]]; !ok {
		t.Errorf("%s is not a member of %s", g1, g2)
	}
	if err := checkInvariants(f.e); err != nil {
		t.Fatal(err)
	}
	// The users' lists share one slab: a membership added later (u2 to g2,
	// into the room its duplicate row left) changes no other user's list.
	f.add(g2, u2)
	for id, want := range map[string]string{u1: fmt.Sprint([]string{g1, g2}), u2: fmt.Sprint([]string{g1, g2}), u3: fmt.Sprint([]string{g2, g1})} {
		if got := groupsOf(id); got != want {
			t.Errorf("after adding %s to %s, groups of %s: %s, want %s", u2, g2, id, got, want)
		}
	}

	// A full list (u1's: one row) copies out when it grows, leaving the
	// next user's part (u2's) as it was.
	f4, data4 := importFixture(t)
	d4 := data4()
	d4.Members = [][2]string{{g1, u1}, {g1, u2}}
	if _, err := f4.e.ImportFrom(f4.op(), &d4); err != nil {
		t.Fatal(err)
	}
	f4.add(g2, u1)
	if got := fmt.Sprint(f4.e.users[u2].groups[0].ID); got != g1 {
		t.Errorf("adding %s to %s made %s's group %s", u1, g2, u2, got)
	}
	if err := checkInvariants(f4.e); err != nil {
		t.Fatal(err)
	}

	f2, data2 := importFixture(t)
	d2 := data2()
	d2.Members = append(d2.Members, [2]string{gid("g", 9), u1})
	if _, err := f2.e.ImportFrom(f2.op(), &d2); err == nil || !strings.Contains(err.Error(), "membership of missing group "+gid("g", 9)) {
		t.Fatalf("a membership of a missing group: %v", err)
	}
	f3, data3 := importFixture(t)
	d3 := data3()
	d3.Members = append(d3.Members, [2]string{g1, g2}) // g2 holds g1: a cycle
	if _, err := f3.e.ImportFrom(f3.op(), &d3); err == nil || !strings.Contains(err.Error(), "makes a cycle") {
		t.Fatalf("a membership that makes a cycle: %v", err)
	}
}

// With KeepUsers an import into an empty engine keeps the caller's rows as
// its users' properties, in place (with the import's defaults written into
// them), and ends in the same engine as the copying import; without it the
// caller's rows are never written.
func TestImportKeepUsersKeepsTheRowsInPlace(t *testing.T) {
	f, data := importFixture(t)
	d := data()
	d.Users[4].UserType = "Guest" // a value given is kept; the others take the defaults
	rows := d.Users
	d.KeepUsers = true
	if _, err := f.e.ImportFrom(f.op(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Users != nil {
		t.Fatal("ImportFrom kept d.Users")
	}
	kept := 0
	f.e.ForEachUserView(func(v UserView) bool {
		for i := range rows {
			if v.User() == &rows[i] {
				kept++
			}
		}
		return true
	})
	if kept != len(rows) {
		t.Fatalf("%d of %d users are the caller's rows", kept, len(rows))
	}
	if rows[0].UserType != "Member" || rows[0].Kind != KindPerson || rows[4].UserType != "Guest" {
		t.Fatalf("the kept rows lack the import's defaults: %+v, %+v", rows[0], rows[4])
	}
	if err := checkInvariants(f.e); err != nil {
		t.Fatal(err)
	}

	g, data2 := importFixture(t)
	d2 := data2()
	d2.Users[4].UserType = "Guest"
	rows2 := d2.Users
	if _, err := g.e.ImportFrom(g.op(), &d2); err != nil {
		t.Fatal(err)
	}
	if rows2[0].UserType != "" || rows2[0].Kind != "" {
		t.Fatalf("the copying import wrote the caller's rows: %+v", rows2[0])
	}
	if got, want := dump(f.e), dump(g.e); got != want {
		t.Fatalf("kept rows:\n%s\ncopied rows:\n%s", got, want)
	}
	for i := range rows {
		a, _ := f.e.User(rows[i].ID)
		b, _ := g.e.User(rows[i].ID)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("user %d: kept %+v, copied %+v", i, a, b)
		}
	}
}
