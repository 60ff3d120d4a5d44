package userprop_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
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
