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

	"allot/catalog"
	"allot/licensing"
	"allot/synth"
	"allot/tenant"
)

// TestUpdateEqualsBuild runs random commands (users renamed, moved,
// deleted and created, mails, licenses, units, memberships of users and of
// nested groups, groups renamed and deleted) and checks after each batch
// that the index kept up to date from the deltas equals one built from the
// state, and that a group's members are the engine's.
func TestUpdateEqualsBuild(t *testing.T) {
	cat := catalog.Default()
	st := synth.Generate(cat, synth.Config{Users: 400, Groups: 12, SKUs: 16, Seed: 3})
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := st.LoadInto(e); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.Recompute(licensing.Op{Now: now})
	e.TakeDelta()
	s := &tenant.State{Engine: e}
	x := Build(s)
	r := rand.New(rand.NewSource(11))
	depts := []string{"Sales", "sales", "Legal", ""}
	next := 0
	for step := 0; step < 400; step++ {
		now = now.Add(time.Minute)
		op := licensing.Op{Actor: "test", Now: now}
		var ids []string
		e.ForEachUser(func(u *licensing.User) bool { ids = append(ids, u.ID); return true })
		gids := e.GroupIDs()
		id, g := ids[r.Intn(len(ids))], gids[r.Intn(len(gids))]
		u, _ := e.User(id)
		sku := st.SKUs[r.Intn(len(st.SKUs))].ID
		switch r.Intn(10) {
		case 0:
			u.Department, u.Mail = depts[r.Intn(len(depts))], fmt.Sprintf("m%d@contoso.example", r.Intn(5))
			_ = e.PutUser(op, u)
		case 1:
			u.UserPrincipalName, u.DisplayName = fmt.Sprintf("renamed%d@contoso.example", step), fmt.Sprintf("Renamed %d", step)
			_ = e.PutUser(op, u)
		case 2:
			_ = e.DeleteUser(op, id)
		case 3:
			next++
			_ = e.PutUser(op, licensing.User{ID: synth.GUID('u', 900000+next), UserPrincipalName: fmt.Sprintf("new%d@contoso.example", next),
				DisplayName: "New", UsageLocation: "US", Department: depts[r.Intn(len(depts))]})
		case 4:
			_ = e.AssignUserLicenses(op, id, []licensing.AssignedLicense{{SKUID: sku}}, nil)
		case 5:
			if e.IsMember(g, id) {
				_ = e.RemoveMembers(op, g, []string{id})
			} else {
				_ = e.AddMembers(op, g, []string{id})
			}
		case 6:
			c := gids[r.Intn(len(gids))]
			if e.IsMember(g, c) {
				_ = e.RemoveMembers(op, g, []string{c})
			} else if c != g {
				_ = e.AddMembers(op, g, []string{c}) // refused when it makes a cycle
			}
		case 7:
			grp, _ := e.Group(g)
			grp.DisplayName = fmt.Sprintf("Group %d", r.Intn(50))
			_ = e.PutGroup(op, grp)
		case 8:
			if len(gids) > 4 && r.Intn(4) == 0 {
				_ = e.DeleteGroup(op, g)
			} else {
				_ = e.AssignGroupLicenses(op, g, []licensing.AssignedLicense{{SKUID: sku}}, nil)
			}
		case 9:
			p, _ := e.Pool(sku)
			units := p.Units
			units.Enabled = max(0, units.Enabled+r.Intn(41)-20)
			_ = e.SetUnits(op, sku, units)
		}
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
	mails := func(x *Index) map[string][]string {
		m := map[string][]string{}
		for k, v := range x.usersByMail {
			m[k] = slices.Sorted(slices.Values(v))
		}
		return m
	}
	switch {
	case !reflect.DeepEqual(a.users, b.users):
		return "user records"
	case !reflect.DeepEqual(mails(a), mails(b)):
		return "users by mail"
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
