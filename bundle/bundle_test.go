package bundle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/audit"
	"allot/catalog"
	"allot/internal/tenanttest"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
	"allot/userprop"
)

// richBundle seeds a new tenant of rt (seedRich) and writes its bundle to
// path (a folder, or a .zip); it returns the tenant and path.
func richBundle(t *testing.T, rt *tenant.Runtime, path string) (*tenant.Tenant, string) {
	t.Helper()
	src := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	seedRich(t, src)
	var err error
	src.Read(func(s *tenant.State) { err = Write(path, s.Engine) })
	if err != nil {
		t.Fatal(err)
	}
	return src, path
}

func runtime(t *testing.T) (*tenant.Runtime, store.Store) {
	st := tenanttest.Store(t)
	return tenanttest.Runtime(t, st, nil), st
}

func newTenant(t *testing.T, rt *tenant.Runtime, id string) *tenant.Tenant {
	return tenanttest.Tenant(t, rt, id)
}

func sku(part string) string { s, _ := catalog.Default().SKU(part); return s.ID }

func uid(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// seedRich builds a tenant with every kind of state: waiting room, a
// dynamic group, an allotment, direct licenses, disabled plans, errors.
func seedRich(t *testing.T, tn *tenant.Tenant) {
	e3, e5, ems := sku("SPE_E3"), sku("SPE_E5"), sku("EMS")
	exo, _ := catalog.Default().Plan("EXCHANGE_S_ENTERPRISE")
	do := func(fn func(tx *tenant.Tx) error) {
		t.Helper()
		if err := tn.Do(context.Background(), licensing.Op{Actor: "seed", Now: time.Now()}, fn); err != nil {
			t.Fatal(err)
		}
	}
	do(func(tx *tenant.Tx) error {
		for s, n := range map[string]int{e3: 4, e5: 2, ems: 10} {
			if err := tx.Engine.SetUnits(tx.Op, s, licensing.Units{Enabled: n}); err != nil {
				return err
			}
		}
		for i := 0; i < 8; i++ {
			d := "Sales"
			if i%2 == 1 {
				d = "HR"
			}
			u := licensing.User{ID: uid(i), UserPrincipalName: fmt.Sprintf("user%d@contoso.example", i), DisplayName: fmt.Sprintf("User, %d", i),
				UsageLocation: "US", AccountEnabled: i != 7, Attributes: map[string]string{"extensionattribute1": "x" + d}}.With(userprop.Department, d)
			if err := tx.Engine.PutUser(tx.Op, u); err != nil {
				return err
			}
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g-static", DisplayName: "Static", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g-sales", DisplayName: "Sales", SecurityEnabled: true,
			GroupTypes: []string{"DynamicMembership"}, MembershipRule: `user.department -eq "Sales"`}); err != nil {
			return err
		}
		return tx.Engine.AssignGroupLicenses(tx.Op, "g-sales", []licensing.AssignedLicense{{SKUID: ems}}, nil)
	})
	// Members join one by one so that the E3 waiting room has an order
	// that differs from the group license's assignedAt.
	do(func(tx *tenant.Tx) error {
		return tx.Engine.AssignGroupLicenses(tx.Op, "g-static", []licensing.AssignedLicense{{SKUID: e3, DisabledPlans: []string{exo.ID}}}, nil)
	})
	for _, i := range []int{5, 3, 1, 0, 2, 4} {
		do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g-static", []string{uid(i)}) })
	}
	do(func(tx *tenant.Tx) error {
		return tx.Engine.AssignUserLicenses(tx.Op, uid(6), []licensing.AssignedLicense{{SKUID: e5}}, nil)
	})
	do(func(tx *tenant.Tx) error {
		if err := tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "al-1", DisplayName: "Pilot", SKUID: e5, AllottedUnits: 1}); err != nil {
			return err
		}
		if err := tx.Engine.AssignThroughAllotment(tx.Op, "al-1", uid(1), nil); err != nil {
			return err
		}
		return tx.Engine.AssignThroughAllotment(tx.Op, "al-1", uid(3), nil)
	})
}

// states renders the license state of a tenant without lastUpdatedDateTime
// (which an import sets to its own time).
func states(tn *tenant.Tenant) string {
	var b strings.Builder
	tn.Read(func(s *tenant.State) {
		e := s.Engine
		e.ForEachUser(func(u *licensing.User) bool { return true })
		var ids []string
		e.ForEachUser(func(u *licensing.User) bool { ids = append(ids, u.ID); return true })
		sortStrings(ids)
		for _, id := range ids {
			u, _ := e.User(id)
			fmt.Fprintf(&b, "%s %s %s %v %v\n", id, u.UserPrincipalName, u.Department(), u.AccountEnabled, u.Attributes)
			for _, l := range e.Licenses(id) {
				fmt.Fprintf(&b, "  %s/%s claimed=%v since=%s held=%v heldSince=%s", l.SKUID, l.AllotmentID, l.Claimed, l.Since.Format(time.RFC3339Nano), l.Held, l.HeldSince.Format(time.RFC3339Nano))
				for _, src := range l.Sources {
					fmt.Fprintf(&b, " [%s %v %s %s %s]", src.AssignedByGroup, src.DisabledPlans, src.State, src.Error, src.AssignedAt.Format(time.RFC3339Nano))
				}
				b.WriteByte('\n')
			}
		}
		for _, p := range e.Pools() {
			fmt.Fprintf(&b, "pool %s %d consumed %d waiting %d\n", p.SKU.PartNumber, p.Units.Enabled, p.Consumed, p.Waiting)
		}
		for _, a := range e.Allotments() {
			fmt.Fprintf(&b, "allotment %+v\n", a)
		}
	})
	return b.String()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestRoundTripGivesIdenticalLicenseStates(t *testing.T) {
	for _, target := range []string{"dir", "bundle.zip"} {
		t.Run(target, func(t *testing.T) {
			rt, _ := runtime(t)
			src, path := richBundle(t, rt, filepath.Join(t.TempDir(), target))
			b, err := Open(path, catalog.Default())
			if err != nil {
				t.Fatal(err)
			}
			dst := newTenant(t, rt, "22222222-2222-4222-8222-222222222222")
			if _, err := Apply(context.Background(), dst, b, "test", time.Now()); err != nil {
				t.Fatal(err)
			}
			if a, c := states(src), states(dst); a != c {
				t.Fatalf("round trip differs:\n--- source\n%s--- imported\n%s", a, c)
			}
		})
	}
}

func TestReimportChangesNothing(t *testing.T) {
	rt, st := runtime(t)
	_, dir := richBundle(t, rt, t.TempDir())
	b, err := Open(dir, catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	dst := newTenant(t, rt, "22222222-2222-4222-8222-222222222222")
	if _, err := Apply(context.Background(), dst, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	auditBefore, _ := st.QueryAudit(context.Background(), audit.Query{TenantID: dst.ID, Limit: 100000})
	n0 := 0
	st.LoadObjects(context.Background(), dst.ID, func(store.Object) error { n0++; return nil })
	before := states(dst)
	stats, err := Apply(context.Background(), dst, b, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if stats != (licensing.ImportStats{}) || states(dst) != before {
		t.Fatalf("re-import changed something: %+v", stats)
	}
	n1 := 0
	st.LoadObjects(context.Background(), dst.ID, func(store.Object) error { n1++; return nil })
	if n0 != n1 {
		t.Fatalf("re-import changed the stored objects: %d → %d", n0, n1)
	}
	auditAfter, _ := st.QueryAudit(context.Background(), audit.Query{TenantID: dst.ID, Limit: 100000})
	if len(auditAfter) != len(auditBefore) {
		t.Fatalf("re-import wrote %d audit entries", len(auditAfter)-len(auditBefore))
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestAssignedAtOrdersTheWaitingRoom(t *testing.T) {
	rt, _ := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	dir := writeFiles(t, map[string]string{
		"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,2\n",
		"users.csv":         "id,userPrincipalName,displayName,usageLocation\nu1,a@c.example,A,US\nu2,b@c.example,B,US\nu3,c@c.example,C,US\n",
		"direct_licenses.csv": "userId,skuPartNumber,disabledPlans,assignedAt\n" +
			"u1,SPE_E3,,2025-03-01T00:00:00Z\nu2,SPE_E3,,2025-01-01T00:00:00Z\nu3,SPE_E3,,2025-02-01T00:00:00Z\n",
	})
	b, err := Open(dir, catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *tenant.State) {
		held := func(u string) bool { l, _ := s.Engine.License(u, sku("SPE_E3")); return l.Held }
		if !held("u2") || !held("u3") || held("u1") {
			t.Fatal("the two oldest assignments should hold the seats")
		}
	})
}

func TestBadBundlesNameFileAndLineAndChangeNothing(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"unknown sku", map[string]string{"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,1\nNOPE,3\n"}, "subscriptions.csv:3: unknown product"},
		{"bad quantity", map[string]string{"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,-1\n"}, "subscriptions.csv:2"},
		{"missing column", map[string]string{"users.csv": "id,displayName\nu1,A\n"}, "users.csv:1: missing column userPrincipalName"},
		{"duplicate upn", map[string]string{"users.csv": "id,userPrincipalName\nu1,a@c.example\nu2,A@C.EXAMPLE\n"}, "users.csv:3: userPrincipalName A@C.EXAMPLE is also used"},
		{"bad location", map[string]string{"users.csv": "id,userPrincipalName,usageLocation\nu1,a@c.example,USA\n"}, "users.csv:2: Invalid value specified for property 'usageLocation' of resource 'User'."},
		// The engine's own rules of a user's and a group's properties
		// (licensing.CheckUser, CheckGroup), refused with the file and line.
		{"bad kind", map[string]string{"users.csv": "id,userPrincipalName,kind\nu1,a@c.example,castle\n"}, `users.csv:2: Invalid kind "castle"`},
		{"blank upn", map[string]string{"users.csv": "id,userPrincipalName\nu1,a@c.example\nu2, \n"}, "users.csv:3: Invalid value specified for property 'userPrincipalName'"},
		{"bad mode", map[string]string{"groups.csv": "id,displayName,assignmentMode\ng1,G,some\n"}, `groups.csv:2: Invalid assignmentMode "some"`},
		{"blank group name", map[string]string{"groups.csv": "id,displayName\ng1, \n"}, "groups.csv:2: Invalid value specified for property 'displayName'"},
		{"member of nothing", map[string]string{"users.csv": "id,userPrincipalName\nu1,a@c.example\n", "members.csv": "groupId,userId\ng9,u1\n"}, "members.csv:2: group g9 does not exist"},
		// A membership listed twice: within its group's run, and with the
		// group's memberships in two runs (the other check).
		{"membership twice in a run", map[string]string{"users.csv": "id,userPrincipalName\nu1,a@c.example\nu2,b@c.example\n", "groups.csv": "id,displayName\ng1,G\ng2,H\n",
			"members.csv": "groupId,userId\ng1,u1\ng1,u2\ng1,u1\ng2,u1\n"}, "members.csv:4: membership u1 in g1 is listed twice"},
		{"membership twice in two runs", map[string]string{"users.csv": "id,userPrincipalName\nu1,a@c.example\nu2,b@c.example\n", "groups.csv": "id,displayName\ng1,G\ng2,H\n",
			"members.csv": "groupId,userId\ng1,u1\ng2,u1\ng1,u2\ng2,u2\ng1,u1\n"}, "members.csv:6: membership u1 in g1 is listed twice"},
		{"bad rule", map[string]string{"groups.csv": "id,displayName,membershipRule\ng1,G,user.department -eq\n"}, "groups.csv:2: membershipRule"},
		{"license without subscription", map[string]string{"groups.csv": "id,displayName\ng1,G\n", "group_licenses.csv": "groupId,skuPartNumber\ng1,SPE_E5\n"}, "group_licenses.csv:2: the tenant has no subscription for SPE_E5"},
		{"bad plan", map[string]string{"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,1\n", "groups.csv": "id,displayName\ng1,G\n", "group_licenses.csv": "groupId,skuPartNumber,disabledPlans\ng1,SPE_E3,NOT_A_PLAN\n"}, "group_licenses.csv:2: disabled plan"},
		{"bad time", map[string]string{"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,1\n", "users.csv": "id,userPrincipalName\nu1,a@c.example\n", "direct_licenses.csv": "userId,skuPartNumber,assignedAt\nu1,SPE_E3,yesterday\n"}, "direct_licenses.csv:2: assignedAt"},
		// Seat dates are held to the nanosecond in the years 1678 to 2262
		// (licensing.Instant): a date outside them is refused, not wrapped.
		{"time out of range", map[string]string{"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,1\n", "users.csv": "id,userPrincipalName\nu1,a@c.example\n", "direct_licenses.csv": "userId,skuPartNumber,assignedAt\nu1,SPE_E3,3000-01-01T00:00:00Z\n"}, "direct_licenses.csv:2: assignedAt \"3000-01-01T00:00:00Z\" is outside the years 1678 to 2262"},
		{"broken csv", map[string]string{"users.csv": "id,userPrincipalName\n\"u1,a@c.example\n"}, "users.csv:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, st := runtime(t)
			tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
			before := states(tn)
			n0 := 0
			st.LoadObjects(context.Background(), tn.ID, func(store.Object) error { n0++; return nil })
			b, err := Open(writeFiles(t, c.files), catalog.Default())
			if err == nil {
				_, err = Apply(context.Background(), tn, b, "test", time.Now())
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || allot.ErrorCode(err) != allot.EINVALID {
				t.Fatalf("want %q, got %v", c.want, err)
			}
			n1 := 0
			st.LoadObjects(context.Background(), tn.ID, func(store.Object) error { n1++; return nil })
			if states(tn) != before || n0 != n1 {
				t.Fatal("a refused import changed the tenant")
			}
		})
	}
}

func TestImportMergesIntoAnExistingTenant(t *testing.T) {
	rt, _ := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	first := writeFiles(t, map[string]string{
		"subscriptions.csv":  "skuPartNumber,quantity\nSPE_E3,1\n",
		"users.csv":          "id,userPrincipalName,usageLocation\nu1,a@c.example,US\n",
		"groups.csv":         "id,displayName\ng1,Staff\n",
		"members.csv":        "groupId,userId\ng1,u1\n",
		"group_licenses.csv": "groupId,skuPartNumber,disabledPlans,assignedAt\ng1,SPE_E3,,2025-01-01T00:00:00Z\n",
	})
	second := writeFiles(t, map[string]string{
		"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,2\n",
		"users.csv":         "id,userPrincipalName,usageLocation,department\nu1,a@c.example,US,Sales\nu2,b@c.example,US,\n",
		"members.csv":       "groupId,userId\ng1,u2\n",
	})
	for _, dir := range []string{first, second} {
		b, err := Open(dir, catalog.Default())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	tn.Read(func(s *tenant.State) {
		u, _ := s.Engine.User("u1")
		l2, _ := s.Engine.License("u2", sku("SPE_E3"))
		if u.Department() != "Sales" || !l2.Held {
			t.Fatalf("merge: department %q, u2 held %v", u.Department(), l2.Held)
		}
		if p, _ := s.Engine.Pool(sku("SPE_E3")); p.Units.Enabled != 2 {
			t.Fatalf("units %d", p.Units.Enabled)
		}
	})
}

// Memberships of a group in several runs import as they do in one.
func TestMembershipsOfAGroupInSeveralRunsImport(t *testing.T) {
	rt, _ := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	b, err := Open(writeFiles(t, map[string]string{"users.csv": "id,userPrincipalName\nu1,a@c.example\nu2,b@c.example\n", "groups.csv": "id,displayName\ng1,G\ng2,H\n",
		"members.csv": "groupId,userId\ng1,u1\ng2,u1\ng1,u2\ng2,u2\n"}), catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *tenant.State) {
		for _, g := range []string{"g1", "g2"} {
			if us, _ := s.Engine.Members(g); len(us) != 2 {
				t.Errorf("group %s has members %v, want u1 and u2", g, us)
			}
		}
	})
}
