package licensing

import (
	"strings"
	"testing"
	"time"

	"allot/userprop"

	"allot"
)

func dept(d string) func(*User) { return func(u *User) { u.SetText(userprop.Department, d) } }

func dynamic(rule string) func(*Group) {
	return func(g *Group) {
		g.GroupTypes = []string{"DynamicMembership"}
		g.MembershipRule = rule
	}
}

func TestDynamicGroupFollowsItsRule(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	a := f.user(1, dept("Sales"))
	b := f.user(2, dept("Sales"))
	c := f.user(3, dept("HR"))
	g := f.group(1, dynamic(`user.department -eq "Sales"`))
	f.groupLicense(g, lic(skuE3))
	us, _ := f.e.Members(g)
	if strings.Join(us, ",") != a+","+b {
		t.Fatalf("members %v", us)
	}
	if !f.holds(a, skuE3) || f.holds(b, skuE3) {
		t.Fatal("oldest-first admission broken for dynamic members")
	}
	// a moves to HR: leaves the group, its seat goes to b; c joins Sales and waits.
	ua, _ := f.e.User(a)
	ua.SetText(userprop.Department, "HR")
	f.must(f.e.PutUser(f.op(), ua))
	uc, _ := f.e.User(c)
	uc.SetText(userprop.Department, "sales") // rules ignore case
	f.must(f.e.PutUser(f.op(), uc))
	us, _ = f.e.Members(g)
	if strings.Join(us, ",") != b+","+c {
		t.Fatalf("members after changes %v", us)
	}
	if f.holds(a, skuE3) || !f.holds(b, skuE3) || f.holds(c, skuE3) {
		t.Fatal("licenses did not follow the rule")
	}
	// New users are evaluated when created.
	d := f.user(4, dept("Sales"))
	if us, _ := f.e.Members(g); len(us) != 3 || us[2] != d {
		t.Fatalf("new user not added: %v", us)
	}
	x, _ := f.e.Explain(b, skuE3)
	if !strings.Contains(x.Sources[0].Via, "dynamic membership rule") {
		t.Fatalf("explain via: %s", x.Sources[0].Via)
	}
}

func TestRuleChangeKeepsUsersWhoStillMatch(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 10)
	a := f.user(1, dept("Sales"))
	f.user(2, dept("Marketing"))
	g := f.group(1, dynamic(`user.department -eq "Sales"`))
	f.groupLicense(g, lic(skuE3))
	before, _ := f.e.License(a, skuE3)
	f.e.TakeDelta()
	gr, _ := f.e.Group(g)
	gr.MembershipRule = `user.department -in ["Sales","Marketing"]`
	f.must(f.e.PutGroup(f.op(), gr))
	d := f.e.TakeDelta()
	for _, en := range d.Audit {
		if en.UserID == a {
			t.Fatalf("a user who still matches was touched: %+v", en)
		}
	}
	after, _ := f.e.License(a, skuE3)
	if !after.Sources[0].LastUpdated.Equal(before.Sources[0].LastUpdated) || !after.HeldSince.Equal(before.HeldSince) {
		t.Fatal("license of a user who still matches changed")
	}
	if us, _ := f.e.Members(g); len(us) != 2 {
		t.Fatalf("members %v", us)
	}
}

func TestPausedRuleKeepsMembers(t *testing.T) {
	f := newFixture(t)
	a := f.user(1, dept("Sales"))
	g := f.group(1, dynamic(`user.department -eq "Sales"`))
	gr, _ := f.e.Group(g)
	gr.MembershipRuleProcessingState = "Paused"
	f.must(f.e.PutGroup(f.op(), gr))
	ua, _ := f.e.User(a)
	ua.SetText(userprop.Department, "HR")
	f.must(f.e.PutUser(f.op(), ua))
	if us, _ := f.e.Members(g); len(us) != 1 {
		t.Fatal("paused rule changed members")
	}
	gr.MembershipRuleProcessingState = "On"
	f.must(f.e.PutGroup(f.op(), gr))
	if us, _ := f.e.Members(g); len(us) != 0 {
		t.Fatal("resumed rule not applied")
	}
}

func TestDynamicGroupRefusals(t *testing.T) {
	f := newFixture(t)
	u := f.user(1)
	g := f.group(1, dynamic(`user.department -eq "Sales"`))
	wantErr(t, f.e.AddMembers(f.op(), g, []string{u}), "dynamic membership")
	err := f.e.PutGroup(f.op(), Group{ID: gid("g", 2), DisplayName: "Bad", SecurityEnabled: true,
		GroupTypes: []string{"DynamicMembership"}, MembershipRule: `user.department -eq `})
	if allot.ErrorCode(err) != allot.EINVALID || !strings.Contains(err.Error(), "1:") {
		t.Fatalf("bad rule: %v", err)
	}
	if f.e.IsGroup(gid("g", 2)) {
		t.Fatal("group with a bad rule created")
	}
	wantErr(t, f.e.PutGroup(f.op(), Group{ID: gid("g", 3), DisplayName: "Static", MembershipRule: `user.department -eq "x"`}), "DynamicMembership")
	wantErr(t, f.e.PutGroup(f.op(), Group{ID: gid("g", 3), DisplayName: "NoRule", GroupTypes: []string{"DynamicMembership"}}), "needs a membershipRule")
}

func TestMatchRulePreview(t *testing.T) {
	f := newFixture(t)
	for i := 1; i <= 30; i++ {
		d := "HR"
		if i%3 == 0 {
			d = "Sales"
		}
		f.user(i, dept(d))
	}
	n, sample, err := f.e.MatchRule(`user.department -eq "Sales"`, f.now, 5)
	f.must(err)
	if n != 10 || len(sample) != 5 {
		t.Fatalf("preview %d %v", n, sample)
	}
	if _, _, err := f.e.MatchRule(`user.nope -eq 1`, f.now, 5); err == nil {
		t.Fatal("bad rule previewed")
	}
}

func TestTimeRulesAreReevaluated(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	hired := f.now.Add(-20 * 24 * time.Hour).Format(time.RFC3339)
	u := f.user(1, func(u *User) { u.SetText(userprop.EmployeeHireDate, hired) })
	g := f.group(1, dynamic(`user.employeeHireDate -ge system.now -minus p30d`))
	f.groupLicense(g, lic(skuE3))
	if !f.holds(u, skuE3) {
		t.Fatal("a recent hire should match")
	}
	f.now = f.now.Add(15 * 24 * time.Hour)
	f.must(f.e.ReevaluateTimeRules(f.op()))
	if f.holds(u, skuE3) {
		t.Fatal("35 days after hire the rule no longer matches")
	}
}
