package userprop_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/rules"
	"allot/userprop"
)

// Every property the registry names for membership rules is read by the
// engine's rule evaluation from the registry's value: a dynamic group with
// user.<Rule> -eq "<value>" holds exactly the user that has the value
// (after a change of only that property, so that the engine's re-evaluation
// on a property change is covered too).
func TestEveryRuleAttributeIsTheRegistryValue(t *testing.T) {
	e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	op := func() licensing.Op { now = now.Add(time.Second); return licensing.Op{Now: now} }
	base := licensing.User{ID: "u1", UserPrincipalName: "u1@contoso.example", DisplayName: "U One", AccountEnabled: true, UsageLocation: "US"}
	if err := e.PutUser(op(), base); err != nil {
		t.Fatal(err)
	}
	if err := e.PutUser(op(), licensing.User{ID: "u2", UserPrincipalName: "u2@contoso.example", DisplayName: "U Two", AccountEnabled: true}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.Rule == "" || p.Type != userprop.String || p.Name == "userPrincipalName" || p.Name == "id" || p.Name == "usageLocation" {
			continue // the ones a rule would match on u2 too, or that identify the user
		}
		v, changed := "x"+strings.ToLower(p.Name), "y"+strings.ToLower(p.Name)
		if p.Name == "userType" {
			v, changed = "Guest", "Member"
		}
		u, _ := e.User("u1")
		u.Attributes = maps.Clone(u.Attributes) // shared with the engine's copy
		p.Set(&u, v)
		if err := e.PutUser(op(), u); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		g := licensing.Group{ID: "g-" + p.Key(), DisplayName: "G " + p.Name, SecurityEnabled: true,
			GroupTypes: []string{"DynamicMembership"}, MembershipRule: `user.` + p.Rule + ` -eq "` + v + `"`, MembershipRuleProcessingState: "On"}
		if err := e.PutGroup(op(), g); err != nil {
			t.Fatalf("%s: rule %q: %v", p.Name, g.MembershipRule, err)
		}
		if users, _ := e.Members(g.ID); !slices.Equal(users, []string{"u1"}) {
			t.Errorf("%s: rule %q holds %v, want [u1]", p.Name, g.MembershipRule, users)
		}
		u.Attributes = maps.Clone(u.Attributes)
		p.Set(&u, changed)
		if err := e.PutUser(op(), u); err != nil {
			t.Fatal(err)
		}
		if users, _ := e.Members(g.ID); len(users) != 0 {
			t.Errorf("%s: after a change the rule %q still holds %v", p.Name, g.MembershipRule, users)
		}
		n++
	}
	if n < 15 {
		t.Fatalf("only %d rule properties tested", n)
	}
}

// The registry is well formed: names are unique in any case; a property
// is of one type with the accessors of that type; Attribute properties are
// strings; labels and SCIM paths are unique.
func TestRegistryIsWellFormed(t *testing.T) {
	seen, labels, scim := map[string]bool{}, map[string]bool{}, map[userprop.SCIMPath]bool{}
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if seen[p.Key()] {
			t.Errorf("%s twice", p.Name)
		}
		seen[p.Key()] = true
		if q, ok := userprop.Lookup(strings.ToUpper(p.Name)); !ok || q != p {
			t.Errorf("Lookup(%q) does not find it", p.Name)
		}
		if p.Attribute && p.Type != userprop.String {
			t.Errorf("%s: an Attribute property is a String", p.Name)
		}
		var u licensing.User
		switch p.Type {
		case userprop.String, userprop.Date:
			p.Set(&u, "v")
			if p.Get(&u) != "v" && !(p.Upper && p.Get(&u) == "V") {
				t.Errorf("%s: Set then Get = %q", p.Name, p.Get(&u))
			}
		case userprop.Bool:
			p.SetBool(&u, true)
			if !p.GetBool(&u) {
				t.Errorf("%s: SetBool does not stick", p.Name)
			}
		case userprop.Time:
			p.SetTime(&u, time.Unix(1, 0))
			if p.GetTime(&u).IsZero() {
				t.Errorf("%s: SetTime does not stick", p.Name)
			}
		case userprop.Strings:
			p.SetStrings(&u, []string{"a"})
			if len(p.GetStrings(&u)) != 1 {
				t.Errorf("%s: SetStrings does not stick", p.Name)
			}
		}
		if p.Label != "" {
			if labels[p.Label] {
				t.Errorf("label %q twice", p.Label)
			}
			labels[p.Label] = true
		}
		if p.SCIM.Attr != "" {
			if scim[p.SCIM] {
				t.Errorf("SCIM %v twice", p.SCIM)
			}
			scim[p.SCIM] = true
		}
	}
	if _, ok := userprop.Lookup("employeeid"); !ok {
		t.Fatal("employeeId is not registered")
	}
}

// Package rules reads the registry: every property that names a rule
// attribute is accepted under that name with the registry's type (only a
// multi-valued property takes -any, only a Bool refuses -startsWith, only a
// Date needs a date), and its canonical spelling is the registry's Rule.
func TestRulesKnowEveryRegistryProperty(t *testing.T) {
	n := 0
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.Rule == "" {
			continue
		}
		n++
		ref := "user." + strings.ToUpper(p.Rule)
		ok := map[userprop.Type]string{userprop.String: ref + ` -startsWith "a"`, userprop.Bool: ref + ` -eq true`,
			userprop.Date: ref + ` -ge 2020-01-01T00:00:00Z`, userprop.Time: ref + ` -ge 2020-01-01T00:00:00Z`,
			userprop.Strings: ref + ` -any (_ -startsWith "a")`}[p.Type]
		r, err := rules.Parse(ok)
		if err != nil {
			t.Errorf("%s: %q: %v", p.Name, ok, err)
			continue
		}
		if !strings.Contains(r.String(), "user."+p.Rule+" ") {
			t.Errorf("%s: %q reads as %q, not user.%s", p.Name, ok, r, p.Rule)
		}
		bad := map[userprop.Type]string{userprop.String: ref + ` -any (_ -eq "a")`, userprop.Bool: ref + ` -startsWith "a"`,
			userprop.Date: ref + ` -eq "a"`, userprop.Time: ref + ` -eq "a"`, userprop.Strings: ref + ` -startsWith "a"`}[p.Type]
		if p.Type == userprop.Strings {
			continue // a collection compares with -eq etc. as Entra allows
		}
		if _, err := rules.Parse(bad); err == nil {
			t.Errorf("%s: %q is accepted: rules do not read it as a %v", p.Name, bad, p.Type)
		}
	}
	if n < 20 {
		t.Fatalf("only %d rule properties", n)
	}
}

// The engine's rule evaluation reads every registry property rules may
// name, of every type: a dynamic group holds the user while the rule
// matches the property's value and drops the user after a change of only
// that property.
func TestTheEngineEvaluatesEveryRegistryRuleProperty(t *testing.T) {
	e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	op := func() licensing.Op { now = now.Add(time.Second); return licensing.Op{Now: now} }
	if err := e.PutUser(op(), licensing.User{ID: "u1", UserPrincipalName: "u1@contoso.example", DisplayName: "U One", AccountEnabled: true}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range userprop.Users {
		p := &userprop.Users[i]
		var rule string
		var set, change func(*licensing.User)
		switch {
		case p.Rule == "" || p.Type == userprop.String:
			continue // String: TestEveryRuleAttributeIsTheRegistryValue
		case p.Type == userprop.Bool:
			rule = "user." + p.Rule + " -eq false"
			set, change = func(u *licensing.User) { p.SetBool(u, false) }, func(u *licensing.User) { p.SetBool(u, true) }
		case p.Type == userprop.Date:
			rule = "user." + p.Rule + " -le 2021-01-01T00:00:00Z"
			set = func(u *licensing.User) { p.Set(u, "2020-06-01T00:00:00Z") }
			change = func(u *licensing.User) { p.Set(u, "2022-06-01T00:00:00Z") }
		case p.Type == userprop.Strings:
			rule = "user." + p.Rule + ` -any (_ -eq "smtp:r@contoso.example")`
			set = func(u *licensing.User) { p.SetStrings(u, []string{"smtp:r@contoso.example"}) }
			change = func(u *licensing.User) { p.SetStrings(u, []string{"smtp:s@contoso.example"}) }
		default:
			t.Fatalf("%s: a rule property of a type this test does not know", p.Name)
		}
		for step, f := range []func(*licensing.User){set, nil, change} {
			if f != nil {
				u, _ := e.User("u1")
				f(&u)
				if err := e.PutUser(op(), u); err != nil {
					t.Fatalf("%s: %v", p.Name, err)
				}
			}
			if step == 1 {
				g := licensing.Group{ID: "g-" + p.Key(), DisplayName: "G " + p.Name, SecurityEnabled: true,
					GroupTypes: []string{"DynamicMembership"}, MembershipRule: rule, MembershipRuleProcessingState: "On"}
				if err := e.PutGroup(op(), g); err != nil {
					t.Fatalf("%s: rule %q: %v", p.Name, rule, err)
				}
			}
			users, _ := e.Members("g-" + p.Key())
			if want := step == 1; step > 0 && (len(users) == 1) != want {
				t.Errorf("%s: rule %q holds %v after step %d", p.Name, rule, users, step)
			}
		}
		n++
	}
	if n < 4 {
		t.Fatalf("only %d non-string rule properties tested", n)
	}
}

// Read reads a registry property by its Graph name in any case, and any
// other name as an attribute.
func TestReadIsTheRegistryValueElseTheAttribute(t *testing.T) {
	u := &licensing.User{UserType: "Guest", Attributes: map[string]string{"extensionattribute3": "CC-7", "mailnickname": "nick"}}
	u.SetText(userprop.EmployeeID, "E1")
	for name, want := range map[string]string{"employeeId": "E1", "USERTYPE": "Guest", "extensionAttribute3": "CC-7", "mailNickname": "nick", "nothing": ""} {
		if got := userprop.Read(name)(u); got != want {
			t.Errorf("Read(%q) = %q, want %q", name, got, want)
		}
	}
}
