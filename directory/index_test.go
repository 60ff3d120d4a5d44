package directory

import (
	"fmt"
	"maps"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/internal/readmodeltest"
	"allot/internal/sortedset"
	"allot/licensing"
	"allot/synth"
)

// TestUpdateEqualsBuild runs random commands (users renamed, moved,
// deleted and created, mails, licenses, units, memberships of users and of
// nested groups, groups renamed and deleted) and checks after each batch
// that the index kept up to date from the deltas equals one built from the
// state, and that a group's members are the engine's.
func TestUpdateEqualsBuild(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, st := readmodeltest.Synthetic(t, synth.Config{Users: 400, Groups: 12, SKUs: 16, Seed: 3}, now)
	e := s.Engine
	x := Build(s)
	r := rand.New(rand.NewSource(11))
	next := 0
	for step := 0; step < 400; step++ {
		now = now.Add(time.Minute)
		readmodeltest.Churn(r, e, st, licensing.Op{Actor: "test", Now: now}, step, &next)
		x.Update(s, e.TakeDelta())
		if step%20 == 0 || step == 399 {
			if diff := compare(x, Build(s)); diff != "" {
				t.Fatalf("step %d: the index kept from deltas differs from a fresh build: %s", step, diff)
			}
			checkMembers(t, e, x)
		}
	}
}

// compare returns what differs between two indexes ("" when nothing).
func compare(a, b *Index) string {
	sets := func(x *Index) map[string][]Key {
		m := map[string][]Key{}
		add := func(name string, s *Set) {
			if s.Len() > 0 {
				s.Scan(nil, false, func(k Key) bool { m[name] = append(m[name], k); return true })
			}
		}
		add("usersByID", x.usersByID)
		add("usersByUPN", x.usersByUPN)
		add("usersByName", x.usersByName)
		add("usersByMail", x.usersByMail)
		add("errUsers", x.errUsers)
		add("waiting", x.waiting)
		add("groupsByID", x.groupsByID)
		add("groupsByName", x.groupsByName)
		for name, ms := range map[string]map[string]*Set{"bySKU": x.bySKU, "byDept": x.byDept, "errBySKU": x.errBySKU, "members": x.members, "memberGroups": x.memberGroups} {
			for k, s := range ms {
				add(name+"/"+k, s)
			}
		}
		return m
	}
	sa, sb := sets(a), sets(b)
	for _, k := range slices.Sorted(maps.Keys(sa)) {
		if !slices.Equal(sa[k], sb[k]) {
			return fmt.Sprintf("set %s: %d keys, want %d", k, len(sa[k]), len(sb[k]))
		}
	}
	if len(sa) != len(sb) {
		return fmt.Sprintf("%d non-empty sets, want %d", len(sa), len(sb))
	}
	switch {
	case !reflect.DeepEqual(a.users, b.users):
		return "user records"
	case !reflect.DeepEqual(a.groups, b.groups):
		return "groups"
	case a.licensed != b.licensed || a.withSKUs != b.withSKUs || !maps.Equal(a.errCodes, b.errCodes):
		return fmt.Sprintf("counters %d/%d/%v, want %d/%d/%v", a.licensed, a.withSKUs, a.errCodes, b.licensed, b.withSKUs, b.errCodes)
	case !slices.EqualFunc(a.Departments(), b.Departments(), strings.EqualFold): // each as first written
		return fmt.Sprintf("departments %v, want %v", a.Departments(), b.Departments())
	}
	return ""
}

// checkMembers checks ScanMembers (users and groups merged in id order,
// from the start and after a member) and MemberCount against the engine.
func checkMembers(t *testing.T, e *licensing.Engine, x *Index) {
	t.Helper()
	for _, g := range e.GroupIDs() {
		us, gs := e.Members(g)
		want := slices.Sorted(slices.Values(append(us, gs...)))
		var got []string
		x.ScanMembers(g, "", func(id string) bool { got = append(got, id); return true })
		if !slices.Equal(got, want) || x.MemberCount(g) != len(want) {
			t.Fatalf("members of %s: %v (count %d), want %v", g, got, x.MemberCount(g), want)
		}
		if len(want) > 2 {
			got = got[:0]
			x.ScanMembers(g, want[1], func(id string) bool { got = append(got, id); return len(got) < 2 })
			if !slices.Equal(got, want[2:min(4, len(want))]) {
				t.Fatalf("members of %s after %s: %v, want %v", g, want[1], got, want[2:min(4, len(want))])
			}
		}
	}
}

// UsersByMail finds every user of a mail, in any case, and only them: not
// a user whose mail starts with it, nor one whose mail it starts with.
func TestUsersByMailFindsEveryUserOfAMailOnly(t *testing.T) {
	x := &Index{usersByMail: sortedset.New([]Key{
		{K: "ann@contoso.example", ID: "u2"},
		{K: "ann@contoso.example", ID: "u1"},
		{K: "ann@contoso.example.org", ID: "u3"},
		{K: "ann@contoso.exampl", ID: "u4"},
		{K: "bob@contoso.example", ID: "u0"},
	})}
	for mail, want := range map[string][]string{
		"Ann@Contoso.example":     {"u1", "u2"},
		"ann@contoso.example.org": {"u3"},
		"ann@contoso.exampl":      {"u4"},
		"ann@contoso":             nil,
		"carl@contoso.example":    nil,
	} {
		if got := x.UsersByMail(mail); !slices.Equal(got, want) {
			t.Errorf("UsersByMail(%q) = %v, want %v", mail, got, want)
		}
	}
	x.usersByMail.Delete(Key{K: "ann@contoso.example", ID: "u1"})
	if got := x.UsersByMail("ann@contoso.example"); !slices.Equal(got, []string{"u2"}) {
		t.Errorf("after a delete: %v, want [u2]", got)
	}
}
