package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/partner"
	positionapi "allot/api/position"
	"allot/api/server"
	"allot/licensing"
	"allot/web"
	"allot/web/demo"
)

// userCount counts the demo tenant's users.
func userCount(t testing.TB, env *apitest.Env) int {
	n := 0
	read(t, env, func(e *licensing.Engine) { n = e.UserCount() })
	return n
}

// fieldError returns the error shown next to a form field ("" when none).
func fieldError(r resp, field string) string {
	i := strings.Index(r.Body, `id="e-`+field+`">`)
	if i < 0 {
		return ""
	}
	rest := r.Body[i+len(`id="e-`+field+`">`):]
	return rest[:strings.Index(rest, "<")]
}

// refusedForms checks the two refusals every form has: a forged CSRF token
// (403, whoever posts it) and a role that may not write (403).
func refusedForms(t *testing.T, env *apitest.Env, page, action string, form url.Values, otherRole string) {
	t.Helper()
	admin := newClient(t, env)
	admin.signIn(tenantToken(t, env, "GlobalAdministrator"))
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf", "forged")
	if r := admin.post(action, f); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "did not come from this site") {
		t.Errorf("POST %s with a forged CSRF token = %d, want 403", action, r.Status)
	}
	other := newClient(t, env)
	other.signIn(tenantToken(t, env, otherRole))
	p := other.get("/admin/users") // a page with the session's CSRF token for every role here
	if p.Status != 200 {
		p = other.get("/admin/")
	}
	f.Set("csrf", csrf(t, p.Body))
	if r := other.post(action, f); r.Status != http.StatusForbidden {
		t.Errorf("POST %s as %s = %d, want 403", action, otherRole, r.Status)
	}
}

func TestUserForms(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	mustContain(t, c.get("/admin/users"), `href="/admin/users/new"`)
	n := userCount(t, env)
	good := url.Values{"displayName": {"Zoë Example"}, "userPrincipalName": {"zoe@contoso.example"}, "mailNickname": {"zoe"},
		"department": {"Research"}, "usageLocation": {"de"}, "accountEnabled": {"on"}}

	// A domain the tenant does not have: refused by identity.CheckUPN, the
	// message next to the field, the values kept, nothing created.
	bad := url.Values{}
	for k, v := range good {
		bad[k] = v
	}
	bad.Set("userPrincipalName", "zoe@elsewhere.example")
	r := c.form("/admin/users/new", "/admin/users", bad)
	if r.Status != http.StatusBadRequest || !strings.Contains(fieldError(r, "userPrincipalName"), "verified domain") {
		t.Fatalf("foreign domain = %d, field error %q", r.Status, fieldError(r, "userPrincipalName"))
	}
	mustContain(t, r, `value="Zoë Example"`, `value="zoe@elsewhere.example"`)
	bad.Set("userPrincipalName", "zoe@contoso.example")
	bad.Del("mailNickname")
	r = c.form("/admin/users/new", "/admin/users", bad)
	if r.Status != http.StatusBadRequest || fieldError(r, "mailNickname") != "Property mailNickname value is required but is empty or missing." {
		t.Fatalf("no mailNickname = %d, field error %q", r.Status, fieldError(r, "mailNickname"))
	}
	if userCount(t, env) != n {
		t.Fatal("a refused form created a user")
	}

	r = c.form("/admin/users/new", "/admin/users", good)
	if r.Status != 200 || !strings.HasPrefix(r.URL, "/admin/users/") {
		t.Fatalf("create = %d at %s", r.Status, r.URL)
	}
	mustContain(t, r, "User zoe@contoso.example created.", "Research")
	id := strings.TrimPrefix(r.URL, "/admin/users/")
	read(t, env, func(e *licensing.Engine) {
		u, ok := e.User(id)
		if !ok || u.DisplayName != "Zoë Example" || u.UsageLocation != "DE" || !u.AccountEnabled || u.Attributes["mailnickname"] != "zoe" {
			t.Errorf("created user = %+v", u)
		}
	})

	// Edit: a bad usage location is refused next to its field; a good
	// change is saved.
	edit := url.Values{}
	for k, v := range good {
		edit[k] = v
	}
	edit.Set("usageLocation", "XX")
	r = c.form("/admin/users/"+id+"/edit", "/admin/users/"+id+"/edit", edit)
	if r.Status != http.StatusBadRequest || !strings.Contains(fieldError(r, "usageLocation"), "ISO 3166") {
		t.Fatalf("bad usage location = %d, field error %q", r.Status, fieldError(r, "usageLocation"))
	}
	edit.Set("usageLocation", "FR")
	edit.Set("department", "Finance")
	edit.Del("accountEnabled")
	r = c.form("/admin/users/"+id+"/edit", "/admin/users/"+id+"/edit", edit)
	mustContain(t, r, "User saved.")
	read(t, env, func(e *licensing.Engine) {
		u, _ := e.User(id)
		if u.UsageLocation != "FR" || u.Department() != "Finance" || u.AccountEnabled {
			t.Errorf("edited user = %+v", u)
		}
	})

	// A License Administrator changes the usage location only.
	la := newClient(t, env)
	la.signIn(tenantToken(t, env, "LicenseAdministrator"))
	p := la.get("/admin/users/" + id + "/edit")
	mustContain(t, p, "Your role may change the usage location only.")
	if r := la.form("/admin/users/"+id+"/edit", "/admin/users/"+id+"/edit", url.Values{"displayName": {"Renamed"}, "usageLocation": {"FR"}}); r.Status != http.StatusForbidden {
		t.Errorf("License Administrator renaming = %d, want 403", r.Status)
	}
	if r := la.form("/admin/users/"+id+"/edit", "/admin/users/"+id+"/edit", url.Values{"usageLocation": {"IT"}}); !strings.Contains(r.Body, "User saved.") {
		t.Errorf("License Administrator setting the usage location = %d", r.Status)
	}
	read(t, env, func(e *licensing.Engine) {
		if u, _ := e.User(id); u.UsageLocation != "IT" || u.DisplayName != "Zoë Example" {
			t.Errorf("after the License Administrator: %+v", u)
		}
	})
	refusedForms(t, env, "/admin/users/new", "/admin/users", good, "GlobalReader")
	if userCount(t, env) != n+1 {
		t.Fatal("a refused form created a user")
	}
}

func TestGroupForms(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	mustContain(t, c.get("/admin/groups"), `href="/admin/groups/new"`)
	r := c.form("/admin/groups/new", "/admin/groups", url.Values{"displayName": {"Team"}, "mailNickname": {"bad nick"}, "membership": {"static"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(fieldError(r, "mailNickname"), "space") {
		t.Fatalf("bad mailNickname = %d, field error %q", r.Status, fieldError(r, "mailNickname"))
	}
	r = c.form("/admin/groups/new", "/admin/groups", url.Values{"displayName": {"Dyn"}, "mailNickname": {"dyn"}, "membership": {"dynamic"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(fieldError(r, "membershipRule"), "required") {
		t.Fatalf("dynamic without a rule = %d, field error %q", r.Status, fieldError(r, "membershipRule"))
	}
	r = c.form("/admin/groups/new", "/admin/groups", url.Values{"displayName": {"Dyn"}, "mailNickname": {"dyn"}, "membership": {"dynamic"},
		"membershipRule": {`user.department -eq`}})
	if r.Status != http.StatusBadRequest {
		t.Fatalf("a broken rule = %d, want 400", r.Status)
	}
	groups := 0
	read(t, env, func(e *licensing.Engine) { groups = len(e.GroupIDs()) })

	r = c.form("/admin/groups/new", "/admin/groups", url.Values{"displayName": {"Team"}, "mailNickname": {"team"}, "description": {"A static team"}, "membership": {"static"}})
	mustContain(t, r, "Group Team created.", "Add member")
	static := strings.TrimPrefix(r.URL, "/admin/groups/")
	r = c.form("/admin/groups/new", "/admin/groups", url.Values{"displayName": {"Sales people"}, "mailNickname": {"salesppl"}, "membership": {"dynamic"},
		"membershipRule": {`user.department -eq "Sales"`}})
	mustContain(t, r, "Group Sales people created.")
	dynamic := strings.TrimPrefix(r.URL, "/admin/groups/")
	var upn, uid string
	sales := 0
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(u *licensing.User) bool {
			if upn == "" {
				upn, uid = u.UserPrincipalName, u.ID
			}
			if u.Department() == "Sales" {
				sales++
			}
			return true
		})
		if len(e.GroupIDs()) != groups+2 {
			t.Errorf("groups = %d, want %d", len(e.GroupIDs()), groups+2)
		}
		if sales == 0 || e.MemberCount(dynamic) != sales {
			t.Errorf("dynamic group has %d members, want the %d in Sales", e.MemberCount(dynamic), sales)
		}
	})

	// Members of the static group; the dynamic one refuses them.
	r = c.form("/admin/groups/"+static, "/admin/groups/"+static+"/members", url.Values{"member": {upn}})
	mustContain(t, r, upn+" added to the group.")
	r = c.form("/admin/groups/"+dynamic, "/admin/groups/"+dynamic+"/members", url.Values{"member": {upn}})
	if !strings.Contains(r.Body, `class="flash err"`) {
		t.Errorf("adding a member to a dynamic group was not refused")
	}
	r = c.form("/admin/groups/"+static, "/admin/groups/"+static+"/members/remove", url.Values{"member": {uid}})
	mustContain(t, r, "Member removed from the group.")
	read(t, env, func(e *licensing.Engine) {
		if e.MemberCount(static) != 0 || e.MemberCount(dynamic) != sales {
			t.Errorf("members: static %d, dynamic %d", e.MemberCount(static), e.MemberCount(dynamic))
		}
	})

	// Edit: a name too long is refused next to its field.
	r = c.form("/admin/groups/"+static+"/edit", "/admin/groups/"+static+"/edit", url.Values{"displayName": {strings.Repeat("x", 257)}, "mailNickname": {"team"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(fieldError(r, "displayName"), "256") {
		t.Fatalf("long name = %d, field error %q", r.Status, fieldError(r, "displayName"))
	}
	r = c.form("/admin/groups/"+static+"/edit", "/admin/groups/"+static+"/edit", url.Values{"displayName": {"Team A"}, "mailNickname": {"teama"}, "description": {"Renamed"}})
	mustContain(t, r, "Group saved.", "Team A", "Renamed")
	refusedForms(t, env, "/admin/groups/new", "/admin/groups", url.Values{"displayName": {"X"}, "mailNickname": {"x"}, "membership": {"static"}}, "LicenseAdministrator")
	refusedForms(t, env, "/admin/groups/"+static, "/admin/groups/"+static+"/members", url.Values{"member": {upn}}, "GlobalReader")
	read(t, env, func(e *licensing.Engine) {
		if len(e.GroupIDs()) != groups+2 || e.MemberCount(static) != 0 {
			t.Error("a refused form changed the groups")
		}
	})
}

func TestAllotmentForms(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	visio := skuID(t, env, "VISIOCLIENT")
	owned := 0
	read(t, env, func(e *licensing.Engine) {
		p, _ := e.Pool(visio)
		owned = p.Units.Total() - p.Allotted
	})
	mustContain(t, c.get("/admin/allotments"), `href="/admin/allotments/new"`, "Owners")
	form := url.Values{"displayName": {"Design – Visio"}, "skuId": {visio}, "allottedUnits": {itoa(owned + 1000)}, "owners": {"Ada Lovelace\nDesign leads\nAda Lovelace"}}
	r := c.form("/admin/allotments/new", "/admin/allotments", form)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `class="form-error"`) && fieldError(r, "allottedUnits") == "" {
		t.Fatalf("too many units = %d: %.400s", r.Status, r.Body)
	}
	form.Set("allottedUnits", "-1")
	r = c.form("/admin/allotments/new", "/admin/allotments", form)
	if r.Status != http.StatusBadRequest || fieldError(r, "allottedUnits") != "allottedUnits cannot be negative." {
		t.Fatalf("negative units = %d, field error %q", r.Status, fieldError(r, "allottedUnits"))
	}
	form.Set("allottedUnits", "1")
	r = c.form("/admin/allotments/new", "/admin/allotments", form)
	mustContain(t, r, "Allotment Design – Visio created.", "Ada Lovelace", "Design leads")
	id := strings.TrimPrefix(r.URL, "/admin/allotments/")
	read(t, env, func(e *licensing.Engine) {
		a, ok := e.AllotmentByID(id)
		if !ok || a.AllottedUnits != 1 || strings.Join(a.Owners, "|") != "Ada Lovelace|Design leads" {
			t.Errorf("allotment = %+v", a)
		}
	})
	mustContain(t, c.get("/admin/allotments"), "Ada Lovelace, Design leads")

	// Edit: owners and units; a refused change keeps what was typed.
	r = c.form("/admin/allotments/"+id, "/admin/allotments/"+id+"/edit", url.Values{"displayName": {"Design – Visio"}, "allottedUnits": {"lots"}, "owners": {"Grace Hopper"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(fieldError(r, "allottedUnits"), "whole number") || !strings.Contains(r.Body, "Grace Hopper") {
		t.Fatalf("units not a number = %d, field error %q", r.Status, fieldError(r, "allottedUnits"))
	}
	r = c.form("/admin/allotments/"+id, "/admin/allotments/"+id+"/edit", url.Values{"displayName": {"Design"}, "allottedUnits": {"0"}, "owners": {"Grace Hopper"}})
	mustContain(t, r, "Allotment saved.")
	read(t, env, func(e *licensing.Engine) {
		a, _ := e.AllotmentByID(id)
		if a.DisplayName != "Design" || a.AllottedUnits != 0 || strings.Join(a.Owners, "|") != "Grace Hopper" {
			t.Errorf("edited allotment = %+v", a)
		}
	})
	refusedForms(t, env, "/admin/allotments/new", "/admin/allotments", form, "GroupsAdministrator")
	refusedForms(t, env, "/admin/allotments/"+id, "/admin/allotments/"+id+"/edit", url.Values{"displayName": {"X"}, "allottedUnits": {"1"}}, "GlobalReader")
	read(t, env, func(e *licensing.Engine) {
		if a, _ := e.AllotmentByID(id); a.DisplayName != "Design" || len(e.Allotments()) != 3 {
			t.Errorf("a refused form changed the allotments: %+v, %d allotments", a, len(e.Allotments()))
		}
	})
}

func TestTokenForms(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	r := c.form("/admin/tokens", "/admin/tokens", url.Values{"displayName": {"script"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "A token needs at least one role") {
		t.Fatalf("no role = %d", r.Status)
	}
	r = c.form("/admin/tokens", "/admin/tokens", url.Values{"displayName": {"Finance owner"}, "roles": {"AllotmentOwner"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "needs allotmentIds") {
		t.Fatalf("owner without allotments = %d", r.Status)
	}
	r = c.form("/admin/tokens", "/admin/tokens", url.Values{"displayName": {"Finance owner"}, "roles": {"AllotmentOwner"}, "allotmentIds": {info.OwnedAllotment}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create = %d: %.300s", r.Status, r.Body)
	}
	i := strings.Index(r.Body, `id="secret">`)
	if i < 0 {
		t.Fatal("the new token's secret is not shown")
	}
	secret := r.Body[i+len(`id="secret">`):]
	secret = secret[:strings.Index(secret, "<")]
	if strings.Contains(c.get("/admin/tokens").Body, secret) {
		t.Fatal("the secret is shown again")
	}
	read(t, env, func(e *licensing.Engine) {
		if a, _ := e.AllotmentByID(info.OwnedAllotment); !strings.Contains(strings.Join(a.Owners, "|"), "Finance owner") {
			t.Errorf("owners = %v, want the token's name listed", a.Owners)
		}
	})
	owner := newClient(t, env)
	if r := owner.signIn(secret); r.URL != "/admin/allotments" {
		t.Fatalf("the new token signs in to %s", r.URL)
	}
	// Revoke: the token stops working.
	page := c.get("/admin/tokens")
	j := strings.Index(page.Body, `/revoke"`)
	k := strings.LastIndex(page.Body[:j], "/admin/tokens/")
	tokID := page.Body[k+len("/admin/tokens/") : j]
	r = c.post("/admin/tokens/"+tokID+"/revoke", url.Values{"csrf": {csrf(t, page.Body)}})
	mustContain(t, r, "Token revoked")
	if r := newClient(t, env).signIn(secret); r.Status != http.StatusUnauthorized {
		// The first token listed is the newest: the one just created.
		t.Fatalf("a revoked token signs in: %d", r.Status)
	}
	refusedForms(t, env, "/admin/tokens", "/admin/tokens", url.Values{"displayName": {"x"}, "roles": {"GlobalAdministrator"}}, "LicenseAdministrator")
}

func TestSubscriptionForms(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	r := c.signIn(apitest.PartnerToken)
	c.post("/admin/tenants", url.Values{"csrf": {csrf(t, r.Body)}, "tenant": {demo.TenantID}})
	mustContain(t, c.get("/admin/"), `href="/admin/subscriptions"`)
	units := func(part string) int {
		n := 0
		read(t, env, func(e *licensing.Engine) {
			if p, ok := e.Pool(skuID(t, env, part)); ok {
				n = p.Units.Total()
			}
		})
		return n
	}
	before := units("VISIOCLIENT")
	r = c.form("/admin/subscriptions", "/admin/subscriptions", url.Values{"offerId": {"VISIOCLIENT"}, "quantity": {"0"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(fieldError(r, "quantity"), "from 1 to") {
		t.Fatalf("quantity 0 = %d, field error %q", r.Status, fieldError(r, "quantity"))
	}
	r = c.form("/admin/subscriptions", "/admin/subscriptions", url.Values{"offerId": {"NO_SUCH_THING"}, "quantity": {"3"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(fieldError(r, "offerId"), "not a known product") {
		t.Fatalf("unknown offer = %d, field error %q", r.Status, fieldError(r, "offerId"))
	}
	r = c.form("/admin/subscriptions", "/admin/subscriptions", url.Values{"offerId": {"VISIOCLIENT"}, "quantity": {"7"}})
	mustContain(t, r, "Subscription of VISIOCLIENT bought")
	if got := units("VISIOCLIENT"); got != before+7 {
		t.Fatalf("VISIOCLIENT units = %d, want %d", got, before+7)
	}
	// Lower a subscription below the seats in use: refused on its row.
	var subID string
	var used int
	read(t, env, func(e *licensing.Engine) {
		p, _ := e.Pool(skuID(t, env, "SPE_E3"))
		used = p.Consumed
	})
	page := c.get("/admin/subscriptions")
	for _, m := range strings.Split(page.Body, `action="/admin/subscriptions/`)[1:] {
		id := m[:strings.Index(m, `"`)]
		if strings.Contains(page.Body[strings.Index(page.Body, `id="sub-`+id+`"`):strings.Index(page.Body, `action="/admin/subscriptions/`+id)], "SPE_E3") {
			subID = id
		}
	}
	if subID == "" || used == 0 {
		t.Fatalf("no SPE_E3 subscription in use on the page (used %d)", used)
	}
	r = c.post("/admin/subscriptions/"+subID, url.Values{"csrf": {csrf(t, page.Body)}, "quantity": {"1"}, "status": {"active"}})
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `class="field-error" role="alert"`) {
		t.Fatalf("below the seats in use = %d: %.300s", r.Status, r.Body)
	}
	e3 := units("SPE_E3")
	r = c.post("/admin/subscriptions/"+subID, url.Values{"csrf": {csrf(t, page.Body)}, "quantity": {itoa(e3 + 5)}, "status": {"active"}})
	mustContain(t, r, "Subscription saved.")
	if got := units("SPE_E3"); got != e3+5 {
		t.Fatalf("SPE_E3 units = %d, want %d", got, e3+5)
	}
	refusedForms(t, env, "/admin/subscriptions", "/admin/subscriptions", url.Values{"offerId": {"VISIOCLIENT"}, "quantity": {"1"}}, "GlobalAdministrator")
	if got := units("VISIOCLIENT"); got != before+7 {
		t.Fatalf("a refused form bought units: %d", got)
	}
	// A tenant's Global Administrator does not reach the page either.
	ga := newClient(t, env)
	ga.signIn(info.AdminToken)
	if r := ga.get("/admin/subscriptions"); r.Status != http.StatusForbidden {
		t.Errorf("GET /admin/subscriptions as a tenant admin = %d", r.Status)
	}
}

// The printable report and the CSV open in the signed-in browser (the
// session cookie, read-only GET); the session does not authorise writes.
func TestReportsOpenWithTheSession(t *testing.T) {
	env := apitest.New(t, partner.Register, admin.Register, cloudlicensing.Register, web.Register,
		func(s *server.Server) { positionapi.Mount(s, positionapi.Options{}) })
	info, err := demo.Ensure(t.Context(), env.RT, env.Store, demo.Options{People: 100, SkipUsage: true})
	if err != nil {
		t.Fatal(err)
	}
	anon := newClient(t, env)
	if r := anon.get("/allot/v1/position.html"); r.Status != http.StatusUnauthorized {
		t.Fatalf("signed out = %d, want 401", r.Status)
	}
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	mustContain(t, c.get("/admin/findings"), `href="/allot/v1/position.html"`, `href="/allot/v1/position.csv"`)
	if r := c.get("/allot/v1/position.html"); r.Status != 200 || !strings.Contains(r.Body, "<html") {
		t.Fatalf("position.html with the session = %d: %.200s", r.Status, r.Body)
	}
	if r := c.get("/allot/v1/position.csv"); r.Status != 200 || !strings.Contains(r.Body, ",") {
		t.Fatalf("position.csv with the session = %d", r.Status)
	}
	if r := c.get("/allot/v1/position"); r.Status != http.StatusUnauthorized {
		t.Errorf("the JSON position (not a browser report) with the session = %d, want 401", r.Status)
	}
	if r := c.post("/allot/v1/whatif", url.Values{}); r.Status != http.StatusUnauthorized {
		t.Errorf("a write with the session = %d, want 401", r.Status)
	}
	// A delegated owner gets its scope; a partner its chosen customer.
	o := newClient(t, env)
	o.signIn(info.OwnerToken)
	if r := o.get("/allot/v1/position.html"); r.Status != 200 {
		t.Errorf("owner = %d", r.Status)
	}
	p := newClient(t, env)
	r := p.signIn(apitest.PartnerToken)
	p.post("/admin/tenants", url.Values{"csrf": {csrf(t, r.Body)}, "tenant": {demo.TenantID}})
	if r := p.get("/allot/v1/position.html"); r.Status != 200 || !strings.Contains(r.Body, "Contoso") {
		t.Errorf("partner = %d", r.Status)
	}
	// A bearer token still decides alone when one is sent.
	req, _ := http.NewRequest("GET", env.URL+"/allot/v1/position.html", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	if r := c.do(req); r.Status != http.StatusUnauthorized {
		t.Errorf("a bad bearer token with a session = %d, want 401", r.Status)
	}
}

// The "What if?" buttons of the user license, allotment and settings
// forms: the page shows the difference and nothing changes.
func TestWhatIfButtonsOfTheForms(t *testing.T) {
	env, info := demoEnv(t, 200)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	before := ""
	read(t, env, func(e *licensing.Engine) { before = dumpPools(e) })
	var user string
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(u *licensing.User) bool {
			if u.UsageLocation != "" && len(e.Licenses(u.ID)) == 0 {
				user = u.ID
				return false
			}
			return true
		})
	})
	visio := skuID(t, env, "VISIOCLIENT")
	mustContain(t, c.get("/admin/users/"+user+"?license="+visio), `value="setUserLicenses"`)
	r := c.form("/admin/users/"+user, "/admin/whatif", url.Values{"op": {"setUserLicenses"}, "user": {user}, "sku": {visio}, "plans": {"1"}})
	if r.Status != 200 {
		t.Fatalf("user license what-if = %d: %.300s", r.Status, r.Body)
	}
	mustContain(t, r, "What if VISIOCLIENT is assigned to the user", "VISIOCLIENT")
	mustContain(t, c.get("/admin/allotments/"+info.OwnedAllotment), `value="putAllotment"`)
	r = c.form("/admin/allotments/"+info.OwnedAllotment, "/admin/whatif", url.Values{"op": {"putAllotment"}, "allotment": {info.OwnedAllotment}, "allottedUnits": {"0"}})
	if r.Status != 200 {
		t.Fatalf("allotment what-if = %d: %.300s", r.Status, r.Body)
	}
	mustContain(t, r, "What if the allotment has 0 units")
	mustContain(t, c.get("/admin/settings"), `value="setSettings"`)
	r = c.form("/admin/settings", "/admin/whatif", url.Values{"op": {"setSettings"}, "defaultUsageLocation": {"US"}, "excludeGuests": {"on"}})
	if r.Status != 200 {
		t.Fatalf("settings what-if = %d: %.300s", r.Status, r.Body)
	}
	mustContain(t, r, "What if the settings change")
	r = c.form("/admin/settings", "/admin/whatif", url.Values{"op": {"setSettings"}, "defaultUsageLocation": {"U1"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("settings what-if with a bad location = %d, want 400", r.Status)
	}
	read(t, env, func(e *licensing.Engine) {
		if dumpPools(e) != before {
			t.Fatal("a what-if changed the tenant")
		}
	})
}
