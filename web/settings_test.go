package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"allot/api/apitest"
	"allot/auth"
	"allot/licensing"
	"allot/web/demo"
)

func TestSettingsFormChangesSettingsAndLicenses(t *testing.T) {
	env, info := demoEnv(t, 200)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	r := c.get("/admin/settings")
	mustContain(t, r, "Licensing settings", `name="excludeGuests"`, `name="nestedGroups"`, `name="defaultUsageLocation"`)
	var guestsHeld int
	read(t, env, func(e *licensing.Engine) { guestsHeld = heldByGuests(e) })
	if guestsHeld == 0 {
		t.Fatal("the demo tenant should have licensed guests")
	}
	r = c.form("/admin/settings", "/admin/settings", url.Values{"defaultUsageLocation": {"de"}, "excludeGuests": {"on"}})
	mustContain(t, r, "Settings saved")
	read(t, env, func(e *licensing.Engine) {
		s := e.Settings()
		if s.DefaultUsageLocation != "DE" || !s.ExcludeGuests || s.NestedGroups {
			t.Fatalf("settings = %+v", s)
		}
		if n := heldByGuests(e); n >= guestsHeld {
			t.Fatalf("guests hold %d seats, %d before excluding them", n, guestsHeld)
		}
	})
	// A bad location changes nothing and says why.
	r = c.form("/admin/settings", "/admin/settings", url.Values{"defaultUsageLocation": {"XYZ"}})
	mustContain(t, r, "two-letter")
	read(t, env, func(e *licensing.Engine) {
		if s := e.Settings(); s.DefaultUsageLocation != "DE" || !s.ExcludeGuests {
			t.Fatalf("refused change applied: %+v", s)
		}
	})
	// A reader sees the settings without a form, and cannot post one.
	rd := newClientSignedIn(t, env, tenantToken(t, env, auth.RoleGlobalReader))
	r = rd.get("/admin/settings")
	if r.Status != http.StatusOK {
		t.Fatalf("reader: %d", r.Status)
	}
	mustContain(t, r, "Exclude guests from group licensing")
	if p := rd.form("/admin/settings", "/admin/settings", url.Values{"defaultUsageLocation": {"US"}}); p.Status != http.StatusForbidden {
		t.Fatalf("reader POST = %d", p.Status)
	}
}

// heldByGuests counts the seats guests hold.
func heldByGuests(e *licensing.Engine) int {
	n := 0
	var guests []string
	e.ForEachUser(func(u *licensing.User) bool {
		if u.IsGuest() {
			guests = append(guests, u.ID)
		}
		return true
	})
	for _, id := range guests {
		for _, l := range e.Licenses(id) {
			if l.Held {
				n++
			}
		}
	}
	return n
}

func TestAuditPageFiltersByMicrosoftsActivityNames(t *testing.T) {
	env, info := demoEnv(t, 200)
	c := newClientSignedIn(t, env, info.AdminToken)
	// A group license: one command that records Set group license and a
	// Change user license for each member (the demo's import records
	// neither).
	fin := groupID(t, env, "Finance analysts")
	c.form("/admin/groups/"+fin+"?license="+skuID(t, env, "SPE_E3"), "/admin/groups/"+fin+"/licenses", url.Values{"sku": {skuID(t, env, "SPE_E3")}})
	all := c.get("/admin/audit")
	mustContain(t, all, `<td data-label="What">Set group license`, `<td data-label="What">Change user license`)
	r := c.get("/admin/audit?activity=" + url.QueryEscape("Set group license"))
	mustContain(t, r, `<option selected>Set group license</option>`, `<td data-label="What">Set group license`)
	for _, other := range []string{`<td data-label="What">Change user license`, `<td data-label="What">Add member to group`} {
		if strings.Contains(r.Body, other) {
			t.Errorf("the activity filter lets %q through", other)
		}
	}
}

func TestDashboardShowsSeatsOfASuspendedSubscription(t *testing.T) {
	env, info := demoEnv(t, 200)
	c := newClientSignedIn(t, env, info.AdminToken)
	if r := c.get("/admin/"); strings.Contains(r.Body, "Subscriptions lapsing") {
		t.Fatal("lapsing subscriptions shown before any lapsed")
	}
	subs := env.Must(200, "GET", "/partner/v1/customers/"+demo.TenantID+"/subscriptions", apitest.PartnerToken, nil).JSON()["items"].([]any)
	suspended := ""
	for _, s := range subs {
		m := s.(map[string]any)
		if m["skuPartNumber"] == "SPE_E3" {
			env.Must(200, "PATCH", "/partner/v1/customers/"+demo.TenantID+"/subscriptions/"+m["id"].(string), apitest.PartnerToken, map[string]any{"status": "suspended"})
			suspended = m["id"].(string)
		}
	}
	if suspended == "" {
		t.Fatal("the demo tenant has no SPE_E3 subscription")
	}
	r := c.get("/admin/")
	mustContain(t, r, "Subscriptions lapsing", "SPE_E3</a> (Suspended)", "have no service")
}
