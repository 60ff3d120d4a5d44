package licensing

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestForEachUserLicensesMatchesLicenses(t *testing.T) {
	e := randomEngine(t, 7, 300)
	seen := 0
	e.ForEachUserLicenses(func(u *User, ls UserLicenses) bool {
		want := e.Licenses(u.ID)
		if ls.Len() != len(want) {
			t.Fatalf("user %s: %d records, Licenses has %d", u.ID, ls.Len(), len(want))
		}
		for i := range want {
			got := ls.At(i)
			if got.SKUID != want[i].SKUID || got.AllotmentID != want[i].AllotmentID || got.Held != want[i].Held || len(got.Sources) != len(want[i].Sources) {
				t.Fatalf("user %s record %d: %+v, want %+v", u.ID, i, got, want[i])
			}
		}
		if one, ok := e.UserLicensesOf(u.ID); !ok || one.Len() != ls.Len() || (ls.Len() > 0 && !reflect.DeepEqual(one.At(0), ls.At(0))) {
			t.Fatalf("UserLicensesOf(%s) differs from the walk", u.ID)
		}
		seen++
		return true
	})
	if _, ok := e.UserLicensesOf("nobody"); ok {
		t.Fatal("UserLicensesOf found a missing user")
	}
	if seen != e.UserCount() {
		t.Fatalf("visited %d users of %d", seen, e.UserCount())
	}
	// Split walks cover the same users; stopping early stops.
	n := 0
	e.ForEachUserLicensesIn(0, e.UserCount()/2, func(*User, UserLicenses) bool { n++; return true })
	e.ForEachUserLicensesIn(e.UserCount()/2, e.UserCount(), func(*User, UserLicenses) bool { n++; return true })
	if n != seen {
		t.Fatalf("split walk visited %d, want %d", n, seen)
	}
	n = 0
	e.ForEachUserLicenses(func(*User, UserLicenses) bool { n++; return n < 3 })
	if seen >= 3 && n != 3 {
		t.Fatalf("walk did not stop: %d", n)
	}
}

// EachGroupMembers gives every group's members as Members does, in
// group id order, whether the engine's users are in id order (after a
// load) or not (after commands).
func TestEachGroupMembersMatchesMembers(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		e := randomEngine(t, seed, 300)
		byID := func(a, b *user) int { return strings.Compare(a.ID, b.ID) }
		if slices.IsSortedFunc(e.all, byID) {
			t.Fatalf("seed %d: the users are in id order; the unordered walk is not tested", seed)
		}
		check := func(how string) {
			var ids []string
			e.EachGroupMembers(func(id string, users, groups []string) {
				ids = append(ids, id)
				wantU, wantG := e.Members(id)
				if !slices.Equal(users, wantU) || !slices.Equal(groups, wantG) {
					t.Fatalf("seed %d, %s: group %s: members %v / %v, Members says %v / %v", seed, how, id, users, groups, wantU, wantG)
				}
				if cap(users) != len(users) {
					t.Fatalf("seed %d, %s: group %s: a list with spare capacity (%d of %d)", seed, how, id, len(users), cap(users))
				}
			})
			if !slices.Equal(ids, e.GroupIDs()) {
				t.Fatalf("seed %d, %s: groups %v, want %v", seed, how, ids, e.GroupIDs())
			}
		}
		check("users unordered")
		// The order a load leaves: users by id.
		slices.SortFunc(e.all, byID)
		for i, u := range e.all {
			u.idx = i
		}
		check("users by id")
	}
}
