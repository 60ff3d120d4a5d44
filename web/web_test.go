package web_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"allot/api/apitest"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
	"allot/web/demo"
)

// read runs fn on the demo tenant's committed state.
func read(t testing.TB, env *apitest.Env, fn func(e *licensing.Engine)) {
	t.Helper()
	tn, ok := env.RT.Get(demo.TenantID)
	if !ok {
		t.Fatal("no demo tenant")
	}
	tn.Read(func(s *tenant.State) { fn(s.Engine) })
}

func groupID(t testing.TB, env *apitest.Env, name string) string {
	t.Helper()
	var id string
	read(t, env, func(e *licensing.Engine) {
		for _, g := range e.GroupIDs() {
			if gr, _ := e.Group(g); gr.DisplayName == name {
				id = g
			}
		}
	})
	if id == "" {
		t.Fatalf("no group %q", name)
	}
	return id
}

func skuID(t testing.TB, env *apitest.Env, part string) string {
	t.Helper()
	var id string
	read(t, env, func(e *licensing.Engine) {
		s, _ := e.Catalog().SKU(part)
		id = s.ID
	})
	return id
}

// tenantToken creates a token of the demo tenant with roles.
func tenantToken(t testing.TB, env *apitest.Env, roles ...string) string {
	t.Helper()
	r := env.Must(201, "POST", "/allot/v1/tenants/"+demo.TenantID+"/tokens", apitest.PartnerToken, map[string]any{"displayName": "test " + strings.Join(roles, ","), "roles": roles})
	return r.JSON()["token"].(string)
}

func TestRootRedirectsToTheAdminCenter(t *testing.T) {
	env := newEnv(t)
	c := newClient(t, env)
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("GET", env.URL+"/", nil)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/admin/" {
		t.Fatalf("GET / = %d %q, want 302 to /admin/", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestPagesNeedASignIn(t *testing.T) {
	env, _ := demoEnv(t, 100)
	c := newClient(t, env)
	r := c.get("/admin/users?q=ada")
	if r.Status != 200 || !strings.HasPrefix(r.URL, "/admin/signin?next=") {
		t.Fatalf("GET /admin/users without a session landed on %d %s, want the sign-in page", r.Status, r.URL)
	}
	mustContain(t, r, "Sign in to the admin center", `name="next" value="/admin/users?q=ada"`)
	if r := c.post("/admin/groups/x/licenses", url.Values{"sku": {"SPE_E3"}}); r.Status != http.StatusForbidden {
		t.Fatalf("POST without a session = %d, want 403", r.Status)
	}
}

func TestSignInKeepsASessionIDInAStrictHttpOnlyCookie(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	p := c.get("/admin/signin")
	form := url.Values{"csrf": {csrf(t, p.Body)}, "token": {info.AdminToken}, "next": {"/admin/products"}}
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("POST", env.URL+"/admin/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/products" {
		t.Fatalf("sign-in = %d to %q, want 303 to /admin/products", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "allot_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || len(session.Value) < 32 ||
		strings.Contains(session.Value, info.AdminToken) {
		t.Fatalf("session cookie = %+v, want a session id (not the token), HttpOnly, SameSite=Strict", session)
	}
}

func TestSignInRefusesBadTokensAndForgedForms(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	p := c.get("/admin/signin")
	r := c.post("/admin/signin", url.Values{"csrf": {csrf(t, p.Body)}, "token": {"allot_wrong"}})
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("bad token = %d, want 401", r.Status)
	}
	mustContain(t, r, "That token is not valid")
	// A form from elsewhere has no token of this browser's pre-session.
	other := newClient(t, env)
	r = other.post("/admin/signin", url.Values{"csrf": {csrf(t, p.Body)}, "token": {info.AdminToken}})
	if r.Status != http.StatusForbidden {
		t.Fatalf("sign-in with another browser's form token = %d, want 403", r.Status)
	}
	// A revoked token signs nobody in.
	revoked := tenantToken(t, env, auth.RoleGlobalAdministrator)
	var id string
	ts, _ := env.Store.ListTokens(t.Context(), demo.TenantID)
	for _, tk := range ts {
		if tk.Hash == auth.Hash(revoked) {
			id = tk.ID
		}
	}
	env.Must(204, "DELETE", "/allot/v1/tenants/"+demo.TenantID+"/tokens/"+id, apitest.PartnerToken, nil)
	if r := newClient(t, env).signIn(revoked); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked token = %d, want 401", r.Status)
	}
}

func TestSignOutNeedsTheFormTokenAndEndsTheSession(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	if r := c.post("/admin/signout", url.Values{"csrf": {"forged"}}); r.Status != http.StatusForbidden {
		t.Fatalf("sign-out with a forged token = %d, want 403", r.Status)
	}
	if r := c.get("/admin/"); !strings.HasPrefix(r.URL, "/admin/") || strings.Contains(r.URL, "signin") {
		t.Fatalf("still signed in expected, got %s", r.URL)
	}
	r := c.form("/admin/", "/admin/signout", nil)
	if !strings.HasPrefix(r.URL, "/admin/signin") {
		t.Fatalf("after sign-out landed on %s", r.URL)
	}
	if r := c.get("/admin/"); !strings.HasPrefix(r.URL, "/admin/signin") {
		t.Fatalf("after sign-out GET /admin/ landed on %s, want the sign-in page", r.URL)
	}
}

// TestEveryPageShowsItsContent opens every page as a Global Administrator.
func TestEveryPageShowsItsContent(t *testing.T) {
	env, info := demoEnv(t, 600)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	e5 := skuID(t, env, "SPE_E5")
	e5Group := groupID(t, env, "M365 E5 – Sales & Marketing")
	var waiter, waiterUPN string
	read(t, env, func(e *licensing.Engine) {
		waiter = e.WaitingRoom(e5)[0].UserID
		u, _ := e.User(waiter)
		waiterUPN = u.UserPrincipalName
	})
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/admin/", []string{"Dashboard", "Seats by product", "<svg", "SPE_E5", "users waiting for a seat", "CountViolation", "Finance – Power BI", "Recent changes"}},
		{"/admin/products", []string{"Products", "Microsoft 365 E5", "Subscriptions", "service plans", "EXCHANGE_S_ENTERPRISE"}},
		{"/admin/products/" + e5, []string{"Microsoft 365 E5", "Groups that assign it", "M365 E5 – Sales &amp; Marketing", "Service plans"}},
		{"/admin/users", []string{"Users", "Search", "Department", "Next →"}},
		{"/admin/users/" + waiter, []string{waiterUPN, "SPE_E5", "waiting #1", "CountViolation", "admitted automatically, oldest first", "Direct licenses"}},
		{"/admin/users/" + waiterUPN, []string{waiterUPN}},
		{"/admin/groups", []string{"Groups", "M365 E3 – Staff", "Dynamic"}},
		{"/admin/groups/" + e5Group, []string{"Membership rule", `user.department -in [&#34;Sales&#34;,&#34;Marketing&#34;]`, "Licenses", "Members", "Assign a product"}},
		{"/admin/allotments", []string{"Finance – Power BI", "Marketing – Visio"}},
		{"/admin/allotments/" + info.OwnedAllotment, []string{"Finance – Power BI", "Finance analysts", "Waiting room", "Save allotment"}},
		{"/admin/errors", []string{"License errors", "ProhibitedInUsageLocationViolation", "DependencyViolation"}},
		{"/admin/waiting", []string{"Waiting rooms", "Microsoft 365 E5", "Allotment Finance – Power BI"}},
		{"/admin/waiting?sku=" + e5, []string{"waiting, oldest first", waiterUPN}},
		{"/admin/waiting?allotment=" + info.OwnedAllotment, []string{"Allotment Finance – Power BI: waiting"}},
		{"/admin/audit", []string{"Audit log", "group-based licensing", "Older →"}},
		{"/admin/settings", []string{"Licensing settings", "Default usage location", "Save settings"}},
	} {
		r := c.get(tc.path)
		if r.Status != 200 {
			t.Errorf("GET %s = %d", tc.path, r.Status)
			continue
		}
		mustContain(t, r, tc.want...)
	}
	for _, path := range []string{"/admin/users/nobody", "/admin/groups/nothing", "/admin/allotments/none", "/admin/products/NOT_A_SKU", "/admin/no-such-page"} {
		if r := c.get(path); r.Status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.Status)
		}
	}
}

func TestPagesSendSecurityHeadersAndUseNoOutsideResources(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	req, _ := http.NewRequest("GET", env.URL+"/admin/", nil)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for h, want := range map[string]string{"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if !strings.Contains(res.Header.Get(h), want) {
			t.Errorf("%s = %q, want %q", h, res.Header.Get(h), want)
		}
	}
	for _, path := range []string{"/admin/", "/admin/static/app.css", "/admin/static/app.js"} {
		r := c.get(path)
		if r.Status != 200 {
			t.Fatalf("GET %s = %d", path, r.Status)
		}
		for _, bad := range []string{"https://", "http://", "//cdn"} {
			if strings.Contains(r.Body, bad) {
				t.Errorf("%s refers to %q: the admin center loads nothing from elsewhere", path, bad)
			}
		}
	}
}

// posts are the admin center's forms with a valid body each.
func posts(t *testing.T, env *apitest.Env, info demo.Info) []struct {
	path string
	form url.Values
} {
	e3 := skuID(t, env, "SPE_E3")
	ems := skuID(t, env, "EMS")
	g := groupID(t, env, "Engineering")
	var user string
	read(t, env, func(e *licensing.Engine) { user = e.WaitingRoom(skuID(t, env, "SPE_E5"))[0].UserID })
	return []struct {
		path string
		form url.Values
	}{
		{"/admin/users/" + user + "/licenses", url.Values{"sku": {ems}}},
		{"/admin/users/" + user + "/licenses/remove", url.Values{"sku": {ems}}},
		{"/admin/groups/" + g + "/licenses", url.Values{"sku": {e3}}},
		{"/admin/groups/" + g + "/licenses/remove", url.Values{"sku": {e3}}},
		{"/admin/groups/" + g + "/mode", url.Values{"mode": {"allOrNone"}}},
		{"/admin/groups/" + g + "/rule", url.Values{"rule": {`user.department -eq "Legal"`}, "action": {"save"}}},
		{"/admin/allotments/" + info.OtherAllotment + "/units", url.Values{"units": {"30"}}},
		{"/admin/allotments/" + info.OtherAllotment + "/assignments", url.Values{"target": {"Engineering"}}},
		{"/admin/allotments/" + info.OtherAllotment + "/assignments/remove", url.Values{"target": {groupID(t, env, "Marketing leads")}}},
		{"/admin/settings", url.Values{"defaultUsageLocation": {"GB"}, "nestedGroups": {"on"}}},
	}
}

// auditCount is the number of audit entries of the demo tenant.
func auditCount(t *testing.T, env *apitest.Env) int64 {
	n, err := env.Store.MaxAuditSeq(t.Context(), demo.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEveryFormRefusesAMissingOrForgedCSRFToken(t *testing.T) {
	env, info := demoEnv(t, 200)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	// Another session's token does not do either.
	otherSession := csrf(t, newClientSignedIn(t, env, tenantToken(t, env, auth.RoleGlobalAdministrator)).get("/admin/").Body)
	before := auditCount(t, env)
	for _, p := range posts(t, env, info) {
		for _, token := range []string{"", "forged", otherSession} {
			f := url.Values{}
			for k, v := range p.form {
				f[k] = v
			}
			if token != "" {
				f.Set("csrf", token)
			}
			if r := c.post(p.path, f); r.Status != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q = %d, want 403", p.path, token, r.Status)
			}
		}
	}
	req, _ := http.NewRequest("POST", env.URL+"/admin/rules/validate", strings.NewReader(`{"rule":"user.department -eq \"Sales\""}`))
	req.Header.Set("Content-Type", "application/json")
	if r := c.do(req); r.Status != http.StatusForbidden {
		t.Errorf("rule validation without the CSRF header = %d, want 403", r.Status)
	}
	if after := auditCount(t, env); after != before {
		t.Errorf("refused forms changed the tenant: audit %d → %d", before, after)
	}
}

func newClientSignedIn(t *testing.T, env *apitest.Env, token string) *client {
	c := newClient(t, env)
	c.signIn(token)
	return c
}

func TestReadersSeeButCannotChange(t *testing.T) {
	env, info := demoEnv(t, 200)
	c := newClientSignedIn(t, env, info.ReaderToken)
	g := groupID(t, env, "M365 E5 – Sales & Marketing")
	var user string
	read(t, env, func(e *licensing.Engine) { user = e.WaitingRoom(skuID(t, env, "SPE_E5"))[0].UserID })
	for _, path := range []string{"/admin/", "/admin/users/" + user, "/admin/groups/" + g, "/admin/allotments/" + info.OwnedAllotment, "/admin/products"} {
		r := c.get(path)
		if r.Status != 200 {
			t.Fatalf("reader GET %s = %d", path, r.Status)
		}
		for _, form := range []string{"Assign a product", "Save rule", "Save allotment", "Remove ", `action="/admin/groups/` + g + `/mode"`, "<textarea"} {
			if strings.Contains(r.Body, form) {
				t.Errorf("reader sees the form %q on %s", form, path)
			}
		}
	}
	mustContain(t, c.get("/admin/groups/"+g), `<pre class="rule">`)
	before := auditCount(t, env)
	page := c.get("/admin/")
	for _, p := range posts(t, env, info) {
		p.form.Set("csrf", csrf(t, page.Body))
		if r := c.post(p.path, p.form); r.Status != http.StatusForbidden {
			t.Errorf("reader POST %s = %d, want 403", p.path, r.Status)
		}
	}
	if after := auditCount(t, env); after != before {
		t.Errorf("a reader changed the tenant: audit %d → %d", before, after)
	}
}

func TestRolesGetTheFormsOfTheirAPIs(t *testing.T) {
	env, _ := demoEnv(t, 100)
	g := groupID(t, env, "Engineering")
	var user string
	read(t, env, func(e *licensing.Engine) {
		us, _ := e.Members(g)
		user = us[0]
	})
	for _, tc := range []struct {
		role                          string
		userForm, groupForm, ruleForm bool
	}{
		{auth.RoleLicenseAdministrator, true, true, false},
		{auth.RoleUserAdministrator, true, true, true},
		{auth.RoleGroupsAdministrator, false, true, true},
	} {
		c := newClientSignedIn(t, env, tenantToken(t, env, tc.role))
		up := c.get("/admin/users/" + user)
		gp := c.get("/admin/groups/" + g)
		if got := strings.Contains(up.Body, "Direct licenses"); got != tc.userForm {
			t.Errorf("%s: user license form shown = %v, want %v", tc.role, got, tc.userForm)
		}
		if got := strings.Contains(gp.Body, "Assign a product"); got != tc.groupForm {
			t.Errorf("%s: group license form shown = %v, want %v", tc.role, got, tc.groupForm)
		}
		if got := strings.Contains(gp.Body, "Save rule"); got != tc.ruleForm {
			t.Errorf("%s: rule editor shown = %v, want %v", tc.role, got, tc.ruleForm)
		}
	}
	// Reports Reader: the reports, not the directory.
	c := newClientSignedIn(t, env, tenantToken(t, env, auth.RoleReportsReader))
	if r := c.get("/admin/"); r.Status != 200 {
		t.Errorf("reports reader dashboard = %d", r.Status)
	}
	if r := c.get("/admin/users"); r.Status != http.StatusForbidden {
		t.Errorf("reports reader users list = %d, want 403", r.Status)
	}
}

func TestAssignAndRemoveADirectLicenseWithPlans(t *testing.T) {
	env, info := demoEnv(t, 200)
	c := newClientSignedIn(t, env, info.AdminToken)
	ems := skuID(t, env, "EMS")
	var user, off string
	var plans []string
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(u *licensing.User) bool {
			if u.UsageLocation != "" && u.Kind == licensing.KindPerson && u.UserType == "Member" && len(e.LicensesOf(u.ID, ems)) == 0 {
				user = u.ID
				return false
			}
			return true
		})
		s, _ := e.Catalog().SKU(ems)
		for _, p := range s.Plans {
			plans = append(plans, p.ID)
		}
	})
	off = plans[0]
	page := c.get("/admin/users/" + user + "?license=" + ems)
	mustContain(t, page, "Assign EMS", `name="plan"`)
	form := url.Values{"csrf": {csrf(t, page.Body)}, "sku": {ems}, "plans": {"1"}, "plan": plans[1:]}
	r := c.post("/admin/users/"+user+"/licenses", form)
	if r.Status != 200 || r.URL != "/admin/users/"+user {
		t.Fatalf("assign = %d at %s", r.Status, r.URL)
	}
	mustContain(t, r, "EMS assigned.", "Direct licenses")
	read(t, env, func(e *licensing.Engine) {
		d := e.DirectLicenses(user)
		if len(d) != 1 || d[0].SKUID != ems || !slices.Equal(d[0].DisabledPlans, []string{off}) {
			t.Fatalf("direct licenses = %+v, want EMS with %s off", d, off)
		}
	})
	// Remove it again.
	r = c.form("/admin/users/"+user, "/admin/users/"+user+"/licenses/remove", url.Values{"sku": {ems}})
	mustContain(t, r, "EMS removed.")
	read(t, env, func(e *licensing.Engine) {
		if d := e.DirectLicenses(user); len(d) != 0 {
			t.Fatalf("direct licenses after removal = %+v", d)
		}
	})
	// The engine's refusal reaches the page: no usage location.
	var noLoc string
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(u *licensing.User) bool {
			if u.UsageLocation == "" && u.UserType == "Member" {
				noLoc = u.ID
				return false
			}
			return true
		})
	})
	r = c.form("/admin/users/"+noLoc, "/admin/users/"+noLoc+"/licenses", url.Values{"sku": {ems}})
	mustContain(t, r, "License assignment cannot be done for user with invalid usage location.")
}

func TestAssignAGroupLicenseWithPlansAndMode(t *testing.T) {
	env, info := demoEnv(t, 200)
	c := newClientSignedIn(t, env, info.AdminToken)
	g := groupID(t, env, "Engineering")
	visio := skuID(t, env, "VISIOCLIENT")
	var plans []string
	read(t, env, func(e *licensing.Engine) {
		s, _ := e.Catalog().SKU(visio)
		for _, p := range s.Plans {
			plans = append(plans, p.ID)
		}
	})
	page := c.get("/admin/groups/" + g + "?license=" + visio)
	mustContain(t, page, "Assign VISIOCLIENT to this group")
	r := c.post("/admin/groups/"+g+"/licenses", url.Values{"csrf": {csrf(t, page.Body)}, "sku": {visio}, "plans": {"1"}, "plan": plans[:len(plans)-1]})
	mustContain(t, r, "VISIOCLIENT assigned to the group")
	read(t, env, func(e *licensing.Engine) {
		ls := e.GroupLicenses(g)
		if len(ls) != 1 || ls[0].SKUID != visio || !slices.Equal(ls[0].DisabledPlans, plans[len(plans)-1:]) {
			t.Fatalf("group licenses = %+v", ls)
		}
		us, _ := e.Members(g)
		if len(e.LicensesOf(us[0], visio)) == 0 {
			t.Fatalf("member %s has no VISIOCLIENT license", us[0])
		}
	})
	r = c.form("/admin/groups/"+g, "/admin/groups/"+g+"/mode", url.Values{"mode": {"allOrNone"}})
	mustContain(t, r, "Assignment mode saved.")
	read(t, env, func(e *licensing.Engine) {
		if gr, _ := e.Group(g); gr.AssignmentMode != licensing.ModeAllOrNone {
			t.Fatalf("mode = %q", gr.AssignmentMode)
		}
	})
	r = c.form("/admin/groups/"+g, "/admin/groups/"+g+"/licenses/remove", url.Values{"sku": {visio}})
	mustContain(t, r, "VISIOCLIENT removed from the group.")
	read(t, env, func(e *licensing.Engine) {
		if ls := e.GroupLicenses(g); len(ls) != 0 {
			t.Fatalf("group licenses after removal = %+v", ls)
		}
	})
}

func TestRuleEditorPreviewsRefusesAndSaves(t *testing.T) {
	env, info := demoEnv(t, 300)
	c := newClientSignedIn(t, env, info.AdminToken)
	g := groupID(t, env, "Engineering")
	page := c.get("/admin/groups/" + g)
	token := csrf(t, page.Body)
	// A bad rule: refused with its position, nothing saved.
	bad := `user.department -eq "Legal" -and`
	r := c.post("/admin/groups/"+g+"/rule", url.Values{"csrf": {token}, "rule": {bad}, "action": {"save"}})
	if r.Status != http.StatusBadRequest {
		t.Fatalf("saving a bad rule = %d, want 400", r.Status)
	}
	mustContain(t, r, "The rule has a problem", "Line 1, column", "user.department -eq &#34;Legal&#34; -and</textarea>")
	// A preview of a good rule shows how many users it matches.
	good := `user.department -eq "Legal"`
	var legal int
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(u *licensing.User) bool {
			if u.Department() == "Legal" {
				legal++
			}
			return true
		})
	})
	r = c.post("/admin/groups/"+g+"/rule", url.Values{"csrf": {token}, "rule": {good}, "action": {"preview"}})
	if r.Status != 200 {
		t.Fatalf("preview = %d", r.Status)
	}
	mustContain(t, r, "The rule is valid.", "matches "+strings.TrimSpace(plural(legal)))
	read(t, env, func(e *licensing.Engine) {
		if gr, _ := e.Group(g); gr.MembershipRule != `user.department -eq "Engineering"` {
			t.Fatalf("a preview changed the rule to %q", gr.MembershipRule)
		}
	})
	// The script's check: JSON with the CSRF header.
	req, _ := http.NewRequest("POST", env.URL+"/admin/rules/validate", strings.NewReader(`{"rule":"user.department -eq"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", token)
	res := c.do(req)
	var check struct {
		Valid  bool `json:"valid"`
		Errors []struct {
			Position struct{ Line, Column int }
		}
	}
	if err := json.Unmarshal([]byte(res.Body), &check); err != nil || res.Status != 200 || check.Valid || len(check.Errors) == 0 {
		t.Fatalf("validate = %d %s", res.Status, res.Body)
	}
	// Saving a good rule changes the members.
	r = c.post("/admin/groups/"+g+"/rule", url.Values{"csrf": {token}, "rule": {good}, "state": {"On"}, "action": {"save"}})
	mustContain(t, r, "Membership rule saved")
	read(t, env, func(e *licensing.Engine) {
		if n := e.MemberCount(g); n != legal {
			t.Fatalf("members after saving = %d, want %d", n, legal)
		}
	})
}

func plural(n int) string {
	if n == 1 {
		return "1 user"
	}
	return strings.TrimSpace(itoa(n)) + " users"
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestAllotmentOwnerSeesOnlyTheirAllotment(t *testing.T) {
	env, info := demoEnv(t, 300)
	o := &ownerView{t: t, env: env, info: info, c: newClientSignedIn(t, env, info.OwnerToken),
		fin: groupID(t, env, "Finance analysts"), other: groupID(t, env, "Marketing leads")}
	read(t, env, func(e *licensing.Engine) {
		us, _ := e.Members(o.fin)
		o.inScope = us[0]
		os, _ := e.Members(o.other)
		o.outScope = os[0]
	})
	o.pagesInScopeOnly()
	o.writesOutsideScopeRefused()
	o.groupPageShowsTheAllotmentsLicensesOnly()
	o.everyLinkOpens()
	o.assignmentFormRefusesTheUnknown()
	// Within scope the owner manages assignments.
	r := o.c.post("/admin/allotments/"+info.OwnedAllotment+"/assignments/remove", url.Values{"csrf": {o.token}, "target": {o.fin}})
	mustContain(t, r, "Assignment removed.")
}

// ownerView is the admin center as the demo's allotment owner sees it: the
// group its allotment licenses (fin), a group outside its scope (other), a
// member of each (inScope, outScope), and a form token of its session.
type ownerView struct {
	t                             *testing.T
	env                           *apitest.Env
	info                          demo.Info
	c                             *client
	fin, other, inScope, outScope string
	token                         string
}

// pagesInScopeOnly: the owner lands on its allotments, its navigation
// leaves out the tenant's pages, and everything outside its allotment
// answers 404.
func (o *ownerView) pagesInScopeOnly() {
	t, c, info, fin, other, inScope, outScope := o.t, o.c, o.info, o.fin, o.other, o.inScope, o.outScope
	r := c.get("/admin/")
	if r.URL != "/admin/allotments" {
		t.Fatalf("owner's home = %s, want /admin/allotments", r.URL)
	}
	mustContain(t, r, "Finance – Power BI")
	if strings.Contains(r.Body, "Marketing – Visio") {
		t.Error("the owner sees another allotment in the list")
	}
	for _, nav := range []string{`href="/admin/users"`, `href="/admin/audit"`, `href="/admin/products"`} {
		if strings.Contains(r.Body, nav) {
			t.Errorf("the owner's navigation links to %s", nav)
		}
	}
	for path, want := range map[string]int{
		"/admin/allotments/" + info.OwnedAllotment: 200,
		"/admin/groups/" + fin:                     200,
		"/admin/users/" + inScope:                  200,
		"/admin/allotments/" + info.OtherAllotment: 404,
		"/admin/groups/" + other:                   404,
		"/admin/users/" + outScope:                 404,
		"/admin/users":                             404,
		"/admin/groups":                            404,
		"/admin/products":                          404,
		"/admin/errors":                            404,
		"/admin/waiting":                           404,
		"/admin/audit":                             404,
		"/admin/settings":                          404,
	} {
		if r := c.get(path); r.Status != want {
			t.Errorf("owner GET %s = %d, want %d", path, r.Status, want)
		}
	}
}

// writesOutsideScopeRefused: the owner's allotment page offers its name and
// owners, not its units; every write outside the scope answers 404 and
// changes nothing.
func (o *ownerView) writesOutsideScopeRefused() {
	t, c, env, info, fin, other, inScope, outScope := o.t, o.c, o.env, o.info, o.fin, o.other, o.inScope, o.outScope
	page := c.get("/admin/allotments/" + info.OwnedAllotment)
	mustContain(t, page, "Finance analysts", "Remove Finance analysts")
	// The owner's allotment form changes the name and owners (as the
	// allotments API's PATCH), not the units.
	mustContain(t, page, "Save allotment")
	if strings.Contains(page.Body, `name="allottedUnits"`) {
		t.Error("the owner may not change units, but the form has them")
	}
	token := csrf(t, page.Body)
	o.token = token
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/admin/allotments/" + info.OtherAllotment + "/assignments/remove", url.Values{"target": {other}}},
		{"/admin/allotments/" + info.OtherAllotment + "/assignments", url.Values{"target": {fin}}},
		{"/admin/allotments/" + info.OwnedAllotment + "/units", url.Values{"units": {"45"}}},
		{"/admin/groups/" + fin + "/licenses", url.Values{"sku": {skuID(t, env, "SPE_E3")}}},
		{"/admin/allotments/" + info.OtherAllotment + "/edit", url.Values{"displayName": {"Mine"}}},
		{"/admin/groups/" + other + "/members", url.Values{"member": {inScope}}},
		{"/admin/groups/" + other + "/members/remove", url.Values{"member": {outScope}}},
	} {
		p.form.Set("csrf", token)
		if r := c.post(p.path, p.form); r.Status != http.StatusNotFound && !strings.Contains(r.Body, "does not exist or is not visible") {
			t.Errorf("owner POST %s = %d, want 404", p.path, r.Status)
		}
	}
	read(t, env, func(e *licensing.Engine) {
		if a, _ := e.AllotmentByID(info.OwnedAllotment); a.AllottedUnits != 40 {
			t.Errorf("owner changed the units to %d", a.AllottedUnits)
		}
		if len(e.AllotmentAssignments(info.OtherAllotment)) != 1 {
			t.Error("owner changed another allotment's assignments")
		}
		if a, _ := e.AllotmentByID(info.OtherAllotment); a.DisplayName == "Mine" {
			t.Error("owner renamed another allotment")
		}
		if us, _ := e.Members(other); !slices.Contains(us, outScope) || slices.Contains(us, inScope) {
			t.Error("owner changed the members of a group outside its scope")
		}
	})
}

// groupPageShowsTheAllotmentsLicensesOnly: the owner's group page shows
// the licenses of its allotment only: not the group's or its members'
// other licenses, and no link to a group it cannot open.
func (o *ownerView) groupPageShowsTheAllotmentsLicensesOnly() {
	t, c, env, info, fin := o.t, o.c, o.env, o.info, o.fin
	var otherParts []string
	read(t, env, func(e *licensing.Engine) {
		a, _ := e.AllotmentByID(info.OwnedAllotment)
		us, _ := e.Members(fin)
		for _, u := range us {
			for _, l := range e.Licenses(u) {
				if l.AllotmentID == "" && !strings.EqualFold(l.SKUID, a.SKUID) {
					s, _ := e.Catalog().SKU(l.SKUID)
					otherParts = append(otherParts, s.PartNumber)
				}
			}
		}
	})
	if len(otherParts) == 0 {
		t.Fatal("the demo's Finance analysts hold no license from outside the allotment: the check below proves nothing")
	}
	gp := c.get("/admin/groups/" + fin)
	for _, part := range otherParts {
		if strings.Contains(gp.Body, ">"+part) || strings.Contains(gp.Body, " "+part+"<") || strings.Contains(gp.Body, ", "+part) {
			t.Fatalf("the owner's group page shows %s, a license from outside the allotment", part)
		}
	}
}

// everyLinkOpens: every link on the owner's pages opens.
func (o *ownerView) everyLinkOpens() {
	t, c, info, fin, inScope := o.t, o.c, o.info, o.fin, o.inScope
	for _, page := range []string{"/admin/groups/" + fin, "/admin/users/" + inScope, "/admin/allotments/" + info.OwnedAllotment} {
		body := c.get(page).Body
		for _, m := range regexp.MustCompile(`href="(/admin/[^"#]*)"`).FindAllStringSubmatch(body, -1) {
			link := html.UnescapeString(m[1])
			if r := c.get(link); r.Status != 200 {
				t.Errorf("the owner's page %s links to %s, which answers %d", page, link, r.Status)
			}
		}
	}
}

// assignmentFormRefusesTheUnknown: in the assignment form, a group
// licensed from elsewhere, and a user outside the scope named by
// userPrincipalName, are as unknown as a name nobody has; nothing is
// assigned.
func (o *ownerView) assignmentFormRefusesTheUnknown() {
	t, c, env, info, outScope, token := o.t, o.c, o.env, o.info, o.outScope, o.token
	var licensed, outUPN string
	read(t, env, func(e *licensing.Engine) {
		for _, g := range e.GroupIDs() {
			for _, l := range e.GroupLicenses(g) {
				if l.AllotmentID == "" && licensed == "" {
					licensed = g
				}
			}
		}
		u, _ := e.User(outScope)
		outUPN = u.UserPrincipalName
	})
	for _, target := range []string{"nobody@nowhere.example", licensed, outUPN} {
		r := c.post("/admin/allotments/"+info.OwnedAllotment+"/assignments", url.Values{"csrf": {token}, "target": {target}})
		if !strings.Contains(r.Body, "No user or group") {
			t.Errorf("owner assigns %s through the form: not answered as unknown", target)
		}
	}
	read(t, env, func(e *licensing.Engine) {
		for _, as := range e.AllotmentAssignments(info.OwnedAllotment) {
			if as.TargetID == licensed || as.TargetID == outScope {
				t.Errorf("the owner assigned %s through the form", as.TargetID)
			}
		}
	})
}

func TestRaisingAllottedUnitsAdmitsWaitingUsersOldestFirst(t *testing.T) {
	env, info := demoEnv(t, 600)
	c := newClientSignedIn(t, env, info.AdminToken)
	var waiting []licensing.License
	var units int
	read(t, env, func(e *licensing.Engine) {
		waiting = e.AllotmentWaiting(info.OtherAllotment)
		a, _ := e.AllotmentByID(info.OtherAllotment)
		units = a.AllottedUnits
	})
	if len(waiting) < 2 {
		t.Fatalf("the demo's Marketing allotment should have users waiting, has %d", len(waiting))
	}
	page := c.get("/admin/allotments/" + info.OtherAllotment)
	mustContain(t, page, "Waiting room")
	r := c.post("/admin/allotments/"+info.OtherAllotment+"/units", url.Values{"csrf": {csrf(t, page.Body)}, "units": {itoa(units + 1)}})
	mustContain(t, r, "Allotted units set to")
	read(t, env, func(e *licensing.Engine) {
		ls := e.LicensesOf(waiting[0].UserID, waiting[0].SKUID)
		held := false
		for _, l := range ls {
			held = held || l.Held
		}
		if !held {
			t.Errorf("the oldest waiting user %s was not admitted", waiting[0].UserID)
		}
		if got := e.AllotmentWaiting(info.OtherAllotment); len(got) != len(waiting)-1 || got[0].UserID != waiting[1].UserID {
			t.Errorf("waiting room after one more unit = %d users starting %v", len(got), got)
		}
	})
	// Too many units: the engine's refusal is shown.
	r = c.form("/admin/allotments/"+info.OtherAllotment, "/admin/allotments/"+info.OtherAllotment+"/units", url.Values{"units": {"100000"}})
	mustContain(t, r, "Allotments of VISIOCLIENT would hold")
}

func TestUsersSearchFilterSortAndPage(t *testing.T) {
	env, info := demoEnv(t, 600)
	c := newClientSignedIn(t, env, info.AdminToken)
	e5 := skuID(t, env, "SPE_E5")
	var all []licensing.User
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(u *licensing.User) bool { all = append(all, *u); return true })
	})
	// Walk every page of Sales users with E5, by display name, Z to A.
	var want []string
	read(t, env, func(e *licensing.Engine) {
		for _, u := range all {
			if u.Department() == "Sales" && len(e.LicensesOf(u.ID, e5)) > 0 {
				want = append(want, u.ID)
			}
		}
	})
	var got []string
	next := "/admin/users?dept=sales&sku=" + e5 + "&sort=name&dir=desc"
	for pages := 0; next != "" && pages < 100; pages++ {
		r := c.get(next)
		mustContain(t, r, plural(len(want)))
		got = append(got, userLinks(r.Body)...)
		next = linkRel(r.Body, "next")
	}
	if len(got) != len(want) {
		t.Fatalf("paged through %d users, want %d", len(got), len(want))
	}
	names := map[string]string{}
	for _, u := range all {
		names[u.ID] = strings.ToLower(u.DisplayName)
	}
	for i := 1; i < len(got); i++ {
		if names[got[i-1]] < names[got[i]] {
			t.Fatalf("not sorted Z to A at %d: %q before %q", i, names[got[i-1]], names[got[i]])
		}
	}
	// Search by the start of a user name.
	r := c.get("/admin/users?q=" + url.QueryEscape(all[0].UserPrincipalName[:4]))
	if !slices.Contains(userLinks(r.Body), all[0].ID) {
		t.Errorf("search for %q does not list %s", all[0].UserPrincipalName[:4], all[0].UserPrincipalName)
	}
	// Users waiting.
	r = c.get("/admin/users?state=waiting")
	for _, id := range userLinks(r.Body) {
		read(t, env, func(e *licensing.Engine) {
			waits := false
			for _, l := range e.Licenses(id) {
				waits = waits || l.Waiting()
			}
			if !waits {
				t.Errorf("state=waiting lists %s, who does not wait", id)
			}
		})
	}
	// Previous goes back.
	first := c.get("/admin/users")
	second := c.get(linkRel(first.Body, "next"))
	back := c.get(linkRel(second.Body, "prev"))
	if !slices.Equal(userLinks(back.Body), userLinks(first.Body)) {
		t.Error("Previous from page 2 does not show page 1")
	}
}

// userLinks returns the user ids linked from a list's rows, in order.
func userLinks(body string) []string {
	var out []string
	for _, part := range strings.Split(body, `<a href="/admin/users/`)[1:] {
		id, _, _ := strings.Cut(part, `"`)
		out = append(out, id)
	}
	return out
}

// linkRel returns the href of the first link with rel (unescaped), or "".
func linkRel(body, rel string) string {
	i := strings.Index(body, `rel="`+rel+`"`)
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(body[:i], `href="`)
	href, _, _ := strings.Cut(body[j+len(`href="`):], `"`)
	return strings.ReplaceAll(href, "&amp;", "&")
}

func TestErrorsAndWaitingRoomsListTheEnginesState(t *testing.T) {
	env, info := demoEnv(t, 600)
	c := newClientSignedIn(t, env, info.AdminToken)
	r := c.get("/admin/errors?code=" + licensing.ErrProhibitedInUsageLoc.String())
	ids := userLinks(r.Body)
	if len(ids) == 0 {
		t.Fatal("no users with ProhibitedInUsageLocationViolation listed")
	}
	read(t, env, func(e *licensing.Engine) {
		for _, id := range ids {
			found := false
			for _, l := range e.Licenses(id) {
				for _, s := range l.Sources {
					found = found || s.Error == licensing.ErrProhibitedInUsageLoc
				}
			}
			if !found {
				t.Errorf("%s is listed but has no such error", id)
			}
		}
	})
	e5 := skuID(t, env, "SPE_E5")
	var room []licensing.License
	read(t, env, func(e *licensing.Engine) { room = e.WaitingRoom(e5) })
	r = c.get("/admin/waiting?sku=" + e5)
	var want []string
	for _, l := range room[:min(len(room), 50)] {
		want = append(want, l.UserID)
	}
	if got := userLinks(r.Body); !slices.Equal(got, want) {
		t.Errorf("waiting room page = %v, want the engine's order %v", got, want)
	}
	g := groupID(t, env, "M365 E5 – Sales & Marketing")
	r = c.get("/admin/errors?group=" + g)
	mustContain(t, r, "In group", "M365 E5 – Sales &amp; Marketing", plural(len(room))[:len(itoa(len(room)))])
}

func TestAuditLogFiltersAndPages(t *testing.T) {
	env, info := demoEnv(t, 300)
	c := newClientSignedIn(t, env, info.AdminToken)
	g := groupID(t, env, "Engineering")
	// Make a few entries about one group.
	for _, mode := range []string{"allOrNone", "perProduct", "allOrNone"} {
		c.form("/admin/groups/"+g, "/admin/groups/"+g+"/mode", url.Values{"mode": {mode}})
	}
	r := c.get("/admin/audit?group=Engineering")
	mustContain(t, r, "Update group", "Demo administrator")
	rows := strings.Count(r.Body, "<tr>") - 1
	if rows < 3 {
		t.Fatalf("audit filtered by group shows %d entries, want at least 3", rows)
	}
	if strings.Contains(r.Body, "Import tenant") {
		t.Error("the group filter lets other entries through")
	}
	// Paging: 50 a page, newest first, Older continues.
	all := c.get("/admin/audit")
	older := linkRel(all.Body, "next")
	if older == "" {
		t.Fatal("no Older link on the first audit page")
	}
	if r := c.get(older); r.Status != 200 || !strings.Contains(r.Body, "Newest") {
		t.Fatalf("older page = %d", r.Status)
	}
	if r := c.get("/admin/audit?from=yesterday"); !strings.Contains(r.Body, "YYYY-MM-DD") {
		t.Error("a bad date is not explained")
	}
}

func TestPartnerAdministratorChoosesACustomer(t *testing.T) {
	env, _ := demoEnv(t, 100)
	c := newClient(t, env)
	r := c.signIn(apitest.PartnerToken)
	if r.URL != "/admin/tenants" {
		t.Fatalf("partner sign-in landed on %s", r.URL)
	}
	mustContain(t, r, "Choose a customer", "Contoso (demo)")
	r = c.post("/admin/tenants", url.Values{"csrf": {csrf(t, r.Body)}, "tenant": {demo.TenantID}})
	if r.URL != "/admin/" || !strings.Contains(r.Body, "Contoso (demo)") || !strings.Contains(r.Body, "Seats by product") {
		t.Fatalf("after choosing: %d %s", r.Status, r.URL)
	}
	mustContain(t, c.get("/admin/groups"), "M365 E3 – Staff", "Dynamic")
}

// TestDashboardShowsThePositionSnapshot: with usage data and a license
// position snapshot (the full demo), required and used seats appear.
func TestDashboardShowsThePositionSnapshot(t *testing.T) {
	env := newEnv(t)
	info, err := demo.Ensure(t.Context(), env.RT, env.Store, demo.Options{People: 300})
	if err != nil {
		t.Fatal(err)
	}
	c := newClientSignedIn(t, env, info.AdminToken)
	r := c.get("/admin/")
	mustContain(t, r, "the license position as of", "Required", "Used")
	if strings.Contains(r.Body, `class="n muted">—</td>`) {
		t.Error("required and used are still empty with a snapshot")
	}
	// Without a snapshot they say how to get one.
	env2, info2 := demoEnv(t, 100)
	mustContain(t, newClientSignedIn(t, env2, info2.AdminToken).get("/admin/"), "once a license position snapshot is taken")
}
