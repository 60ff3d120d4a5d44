package licensing

import (
	"reflect"
	"slices"
	"testing"
)

// A user's view gives what the engine's queries by id give.
func TestUserViewMatchesTheQueries(t *testing.T) {
	e := randomEngine(t, 11, 300)
	seen, memberships := 0, 0
	e.ForEachUserView(func(v UserView) bool {
		u := v.User()
		if got, ok := e.User(u.ID); !ok || got.ID != u.ID {
			t.Fatalf("view of %s: not a user of the engine", u.ID)
		}
		if one, _ := e.UserLicensesOf(u.ID); v.Licenses().Len() != one.Len() || (one.Len() > 0 && !reflect.DeepEqual(v.Licenses().At(0), one.At(0))) {
			t.Fatalf("user %s: license records differ from UserLicensesOf", u.ID)
		}
		if want := e.DirectLicenses(u.ID); len(v.DirectLicenses()) != len(want) || (len(want) > 0 && &v.DirectLicenses()[0] != &want[0]) {
			t.Fatalf("user %s: direct licenses differ", u.ID)
		}
		var groups []string
		for i := range v.GroupCount() {
			groups = append(groups, v.GroupID(i))
		}
		slices.Sort(groups)
		if want := e.GroupsOf(u.ID); !slices.Equal(groups, want) {
			t.Fatalf("user %s: groups %v, GroupsOf %v", u.ID, groups, want)
		}
		memberships += len(groups)
		seen++
		return true
	})
	if seen != e.UserCount() || memberships == 0 {
		t.Fatalf("visited %d users of %d, %d memberships", seen, e.UserCount(), memberships)
	}
	n := 0
	e.ForEachUserView(func(UserView) bool { n++; return n < 3 })
	if seen >= 3 && n != 3 {
		t.Fatalf("walk did not stop: %d", n)
	}
}
