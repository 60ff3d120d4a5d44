package web_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"allot/api/apitest"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
	"allot/userprop"
	"allot/web/demo"
)

// eval evaluates a JavaScript expression in the session's page.
func eval[T any](s *session, js string) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		s.t.Fatalf("browser: %s: %v (at %s)", js, err, s.location())
	}
	return v
}

// submit clicks a form's submit button and waits for the next page.
func (s *session) submit(form string) {
	s.t.Helper()
	s.clickAndWait(form + ` button[type=submit]:not([formaction])`)
}

// clickAndWait clicks an element and waits until another page has loaded
// (the current one is marked first, so that its heading does not count).
func (s *session) clickAndWait(sel string) {
	s.t.Helper()
	eval[bool](s, `document.documentElement.dataset.stale = "1"; true`)
	s.do(chromedp.Click(chromedp.CSS(sel)))
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	js := `document.readyState === "complete" && !document.documentElement.dataset.stale && !!document.querySelector("main h1")`
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if ctx.Err() != nil {
			s.t.Fatalf("browser: no new page after clicking %s (at %s)", sel, s.location())
		}
		time.Sleep(50 * time.Millisecond) // errors while the page changes are expected
	}
}

// widest lists the elements that reach beyond the viewport, for a failure
// message.
func (s *session) widest() string {
	return eval[string](s, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
		.slice(-6).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)).join("; ")`)
}

// fill sets form fields by name.
func (s *session) fill(form string, kv ...string) {
	s.t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		s.do(chromedp.SetValue(chromedp.CSS(form+` [name="`+kv[i]+`"]`), kv[i+1]))
	}
}

// TestBrowserForms fills in and submits each create and edit form of the
// admin center in Chromium: a refusal shows the engine's message next to
// its field; a forged CSRF token and a role that may not write are
// refused, and nothing changes.
func TestBrowserForms(t *testing.T) {
	browser := startBrowser(t)
	env, info := demoEnv(t, 200)
	admin := newSession(t, browser, env.URL)
	admin.signIn(info.AdminToken)

	t.Run("User", func(t *testing.T) { browserFormUser(t, env, admin) })
	t.Run("Group", func(t *testing.T) { browserFormGroup(t, admin) })
	t.Run("Allotment", func(t *testing.T) { browserFormAllotment(t, env, admin) })
	t.Run("Owner", func(t *testing.T) { browserFormOwner(t, browser, env, info) })
	t.Run("Token", func(t *testing.T) { browserFormToken(t, browser, env, admin) })
	t.Run("Dates", func(t *testing.T) { browserFormDates(t, env, admin) })
	t.Run("Subscription", func(t *testing.T) { browserFormSubscription(t, browser, env) })
	t.Run("CSRFAndRoles", func(t *testing.T) { browserFormCSRFAndRoles(t, browser, env, info, admin) })
	t.Run("Phone", func(t *testing.T) { browserFormPhone(t, browser, env, info) })
}

// browserFormUser is the User subtest of TestBrowserForms.
func browserFormUser(t *testing.T, env *apitest.Env, admin *session) {
	s := admin
	s.t = t
	s.open("/admin/users")
	s.clickAndWait(`a[href="/admin/users/new"]`)
	const form = `form[action="/admin/users"]`
	s.fill(form, "displayName", "Browser User", "userPrincipalName", "browser@nowhere.example", "mailNickname", "browser", "usageLocation", "GB")
	s.submit(form)
	s.waitText("#e-userPrincipalName", "verified domain")
	if got := eval[string](s, `document.querySelector("#f-userPrincipalName").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("the refused field is not marked invalid (%q)", got)
	}
	s.fill(form, "userPrincipalName", "browser@contoso.example")
	s.submit(form)
	s.waitText(".flash.ok", "User browser@contoso.example created.")
	s.clickAndWait(`a[href$="/edit"]`)
	s.fill(`form[action$="/edit"]`, "department", "Browsers")
	s.submit(`form[action$="/edit"]`)
	s.waitText(".flash.ok", "User saved.")
	read(t, env, func(e *licensing.Engine) {
		if u, ok := e.UserByUPN("browser@contoso.example"); !ok || u.Department() != "Browsers" || u.UsageLocation != "GB" {
			t.Errorf("user = %+v", u)
		}
	})
}

// browserFormGroup is the Group subtest of TestBrowserForms.
func browserFormGroup(t *testing.T, admin *session) {
	s := admin
	s.t = t
	s.open("/admin/groups/new")
	const form = `form[action="/admin/groups"]`
	s.fill(form, "displayName", "Browser team", "mailNickname", "browserteam")
	s.do(chromedp.Click(chromedp.CSS(form + ` input[value=dynamic]`)))
	s.fill(form, "membershipRule", `user.department -eq "Browsers"`)
	s.submit(form)
	s.waitText(".flash.ok", "Group Browser team created.")
	s.clickAndWait(`a[href$="/edit"]`)
	s.fill(`form[action$="/edit"]`, "description", "People in Browsers")
	s.submit(`form[action$="/edit"]`)
	s.waitText(".flash.ok", "Group saved.")
	s.waitText("main", "People in Browsers")
	// A static group and a member added by user name.
	s.open("/admin/groups/new")
	s.fill(form, "displayName", "Static crew", "mailNickname", "staticcrew")
	s.submit(form)
	s.waitText(".flash.ok", "Group Static crew created.")
	s.fill("#member-form", "member", "browser@contoso.example")
	s.submit("#member-form")
	s.waitText(".flash.ok", "browser@contoso.example added to the group.")
	s.waitText("#members-h ~ .table-wrap", "browser@contoso.example")
}

// browserFormAllotment is the Allotment subtest of TestBrowserForms.
func browserFormAllotment(t *testing.T, env *apitest.Env, admin *session) {
	s := admin
	s.t = t
	s.open("/admin/allotments")
	s.clickAndWait(`a[href="/admin/allotments/new"]`)
	const form = `form[action="/admin/allotments"]`
	s.fill(form, "displayName", "Browser allotment", "skuId", skuID(t, env, "VISIOCLIENT"), "allottedUnits", "-3", "owners", "Ada\nGrace")
	s.submit(form)
	s.waitText("#e-allottedUnits", "allottedUnits cannot be negative.")
	s.fill(form, "allottedUnits", "1")
	s.submit(form)
	s.waitText(".flash.ok", "Allotment Browser allotment created.")
	s.waitText("ul.owners", "Grace")
	s.fill("#allotment-form", "owners", "Ada\nLinus")
	s.submit("#allotment-form")
	s.waitText(".flash.ok", "Allotment saved.")
	s.waitText("ul.owners", "Linus")
	// The what-if button beside it tries the change and changes nothing.
	s.fill("#allotment-form", "allottedUnits", "0")
	s.clickAndWait(`#allotment-form button[formaction="/admin/whatif"]`)
	s.waitText("main h1", "What if the allotment has 0 units")
}

// browserFormOwner: A delegated allotment owner edits what the allotments API and
// Graph let it (api/scope): its allotment's name and owners (not the
// units), and the members of the group its allotment licenses; a
// forged token, the units, a user outside its scope by name and a
// group that also carries other licenses are refused.
func browserFormOwner(t *testing.T, browser context.Context, env *apitest.Env, info demo.Info) {
	fin, other := groupID(t, env, "Finance analysts"), groupID(t, env, "Marketing leads")
	var outID, outUPN string
	var units int
	read(t, env, func(e *licensing.Engine) {
		us, _ := e.Members(other)
		u, _ := e.User(us[0])
		outID, outUPN = u.ID, u.UserPrincipalName
		a, _ := e.AllotmentByID(info.OwnedAllotment)
		units = a.AllottedUnits
	})
	s := newSession(t, browser, env.URL)
	s.signIn(info.OwnerToken)
	s.open("/admin/allotments/" + info.OwnedAllotment)
	if n := eval[int](s, `document.querySelectorAll('#allotment-form [name="allottedUnits"]').length`); n != 0 {
		t.Error("the owner's allotment form offers the units")
	}
	s.fill("#allotment-form", "displayName", "Finance – Power BI (reports)", "owners", "Finance owner\nAda")
	s.submit("#allotment-form")
	s.waitText(".flash.ok", "Allotment saved.")
	s.waitText("ul.owners", "Ada")
	// The units, posted anyway with a valid form token: 403.
	// post sends a form with the page's token; the status and text of
	// the page it ends on (after the form's redirect).
	type answer struct {
		Status int    `json:"status"`
		Text   string `json:"text"`
	}
	postPage := func(action, body string) answer {
		js := `fetch(` + jsString(action) + `, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
			body: "csrf=" + encodeURIComponent(document.querySelector('meta[name="csrf-token"]').content) + "&" + ` + jsString(body) + `})
			.then(r => r.text().then(text => ({status: r.status, text})))`
		ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
		defer cancel()
		a, err := chromedp.Run(ctx, chromedp.Evaluate[answer](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("POST %s: %v", action, err)
		}
		return a
	}
	post := func(action, body string) int { return postPage(action, body).Status }
	if st := post("/admin/allotments/"+info.OwnedAllotment+"/edit", "displayName=x&owners=y&allottedUnits=45"); st != 403 {
		t.Errorf("owner posts units: %d, want 403", st)
	}
	// A forged form token: 403.
	s.do(chromedp.SetValue(chromedp.CSS(`#allotment-form input[name=csrf]`), "forged"))
	s.submit("#allotment-form")
	if h := s.text("main h1"); !strings.Contains(h, "Forbidden") {
		t.Errorf("owner's allotment form with a forged token: %q, want Forbidden", h)
	}
	read(t, env, func(e *licensing.Engine) {
		a, _ := e.AllotmentByID(info.OwnedAllotment)
		if a.DisplayName != "Finance – Power BI (reports)" || strings.Join(a.Owners, "|") != "Finance owner|Ada" || a.AllottedUnits != units {
			t.Errorf("allotment = %q %v %d units, want the name and owners saved and %d units", a.DisplayName, a.Owners, a.AllottedUnits, units)
		}
	})

	// Members of the group its allotment licenses.
	s.open("/admin/groups/" + fin)
	s.fill("#member-form", "member", outUPN) // outside the scope, by name: unknown
	s.submit("#member-form")
	s.waitText(".flash.err", "No user or group")
	s.fill("#member-form", "member", outID) // by object id: brought in
	s.submit("#member-form")
	s.waitText(".flash.ok", "added to the group.")
	s.open("/admin/groups/" + fin + "?member=" + url.QueryEscape(outUPN))
	s.clickAndWait(`form[action$="/members/remove"] button`)
	s.waitText(".flash.ok", "Member removed from the group.")
	s.fill("#member-form", "member", outID)
	s.do(chromedp.SetValue(chromedp.CSS(`#member-form input[name=csrf]`), "forged"))
	s.submit("#member-form")
	if h := s.text("main h1"); !strings.Contains(h, "Forbidden") {
		t.Errorf("owner's member form with a forged token: %q, want Forbidden", h)
	}
	// A group outside the scope answers 404; once an administrator
	// licenses the owner's group from the general pool, its members
	// are no longer the owner's to change (403, as Graph).
	if st := post("/admin/groups/"+other+"/members", "member="+outID); st != 404 {
		t.Errorf("owner adds to a group outside its scope: %d, want 404", st)
	}
	tn, _ := env.RT.Get(demo.TenantID)
	e3 := skuID(t, env, "SPE_E3")
	if err := tn.Do(t.Context(), licensing.Op{Actor: "test", Now: env.RT.Now()}, func(tx *tenant.Tx) error {
		return tx.Engine.AssignGroupLicenses(tx.Op, fin, []licensing.AssignedLicense{{SKUID: e3}}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tn.Do(context.Background(), licensing.Op{Actor: "test", Now: env.RT.Now()}, func(tx *tenant.Tx) error {
			return tx.Engine.AssignGroupLicenses(tx.Op, fin, nil, []string{e3})
		})
	})
	s.open("/admin/groups/" + fin)
	if n := eval[int](s, `document.querySelectorAll("#member-form, form[action$='/members/remove']").length`); n != 0 {
		t.Error("the owner is offered member forms of a group that carries other licenses")
	}
	if a := postPage("/admin/groups/"+fin+"/members", "member="+outID); !strings.Contains(a.Text, "Insufficient privileges") {
		t.Errorf("owner adds to a group that carries other licenses: %d, no refusal shown", a.Status)
	}
	read(t, env, func(e *licensing.Engine) {
		if us, _ := e.Members(fin); slices.Contains(us, outID) {
			t.Error("a refused member change changed the group")
		}
	})
}

// browserFormToken is the Token subtest of TestBrowserForms.
func browserFormToken(t *testing.T, browser context.Context, env *apitest.Env, admin *session) {
	s := admin
	s.t = t
	s.open("/admin/tokens")
	s.fill("#token-form", "displayName", "Browser reader")
	s.do(chromedp.Click(chromedp.CSS(`#token-form input[value=GlobalReader]`)))
	s.submit("#token-form")
	secret := s.text("#secret")
	if len(secret) < 20 {
		t.Fatalf("secret = %q", secret)
	}
	// Every date on the page is shown in the viewer's locale and zone.
	if n := eval[int](s, `[...document.querySelectorAll("main time")].filter(t => t.textContent.endsWith("UTC")).length`); n != 0 {
		t.Errorf("%d dates are still in the ISO fallback", n)
	}
	reader := newSession(t, browser, env.URL)
	reader.signIn(secret)
	if strings.Contains(eval[string](reader, `document.body.innerHTML`), `href="/admin/users/new"`) {
		t.Error("a reader is offered the new user form")
	}
}

// browserFormDates: Times inside server-written text (a license's explanation, the
// audit's details, findings) are shown in the viewer's locale and zone
// like the other dates: no ISO instant is left on the page.
func browserFormDates(t *testing.T, env *apitest.Env, admin *session) {
	s := admin
	s.t = t
	var held string
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(u *licensing.User) bool {
			for _, l := range e.Licenses(u.ID) {
				if l.Held {
					held = u.ID
				}
			}
			return held == ""
		})
	})
	s.open("/admin/users/" + held)
	if n := eval[int](s, `document.querySelectorAll("main .explain time").length`); n == 0 {
		t.Error("the explanation of a held license shows no <time>")
	}
	for _, page := range []string{"/admin/users/" + held, "/admin/audit", "/admin/findings"} {
		s.open(page)
		if iso := eval[string](s, `(document.querySelector("main").innerText.match(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[^\s)]*/g) || []).join(", ")`); iso != "" {
			t.Errorf("%s shows ISO times: %s", page, iso)
		}
		if n := eval[int](s, `[...document.querySelectorAll("main time")].filter(t => t.textContent.endsWith("UTC")).length`); n != 0 {
			t.Errorf("%s: %d dates are still in the ISO fallback", page, n)
		}
	}
}

// browserFormSubscription is the Subscription subtest of TestBrowserForms.
func browserFormSubscription(t *testing.T, browser context.Context, env *apitest.Env) {
	s := newSession(t, browser, env.URL)
	s.open("/admin/")
	s.do(chromedp.SendKeys(chromedp.CSS("#token"), apitest.PartnerToken))
	s.clickAndWait(`form[action="/admin/signin"] button[type=submit]`)
	s.clickAndWait(`form[action="/admin/tenants"] button[type=submit]`)
	s.open("/admin/subscriptions")
	s.fill("#subscription-form", "offerId", "VISIOCLIENT", "quantity", "0")
	s.submit("#subscription-form")
	s.waitText("#e-quantity", "quantity must be a whole number from 1")
	s.fill("#subscription-form", "quantity", "4")
	s.submit("#subscription-form")
	s.waitText(".flash.ok", "Subscription of VISIOCLIENT bought")
}

// browserFormCSRFAndRoles: Each form refuses a forged CSRF token (403) and a reader's post
// (403), and the tenant stays as it was.
func browserFormCSRFAndRoles(t *testing.T, browser context.Context, env *apitest.Env, info demo.Info, admin *session) {
	before := ""
	users := 0
	read(t, env, func(e *licensing.Engine) { before, users = dumpPools(e), e.UserCount() })
	forms := []struct{ page, form string }{
		{"/admin/users/new", `form[action="/admin/users"]`},
		{"/admin/groups/new", `form[action="/admin/groups"]`},
		{"/admin/allotments/new", `form[action="/admin/allotments"]`},
		{"/admin/allotments/" + info.OwnedAllotment, "#allotment-form"},
		{"/admin/tokens", "#token-form"},
		{"/admin/settings", `form[action="/admin/settings"]`},
		{"/admin/groups/" + groupID(t, env, "Finance analysts"), "#member-form"},
		{"/admin/groups/" + groupID(t, env, "Finance analysts") + "?license=" + skuID(t, env, "SPE_E3"), "#license-form"},
	}
	s := admin
	s.t = t
	for _, f := range forms {
		s.open(f.page)
		if f.form == "#member-form" {
			s.fill(f.form, "member", "nobody@contoso.example") // required
		}
		s.do(chromedp.SetValue(chromedp.CSS(f.form+` input[name=csrf]`), "forged"))
		s.submit(f.form)
		if h := s.text("main h1"); !strings.Contains(h, "Forbidden") {
			t.Errorf("%s with a forged token: %q, want Forbidden", f.page, h)
		}
	}
	reader := newSession(t, browser, env.URL)
	reader.signIn(info.ReaderToken)
	reader.open("/admin/users")
	for _, action := range []string{"/admin/users", "/admin/groups", "/admin/allotments", "/admin/allotments/" + info.OwnedAllotment + "/edit",
		"/admin/tokens", "/admin/settings", "/admin/groups/x/members", "/admin/groups/x/members/remove", "/admin/groups/x/licenses"} {
		js := `fetch(` + jsString(action) + `, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
			body: "csrf=" + encodeURIComponent(document.querySelector('meta[name="csrf-token"]').content) + "&displayName=x&mailNickname=x&allottedUnits=1&roles=GlobalReader"}).then(r => r.status)`
		ctx, cancel := context.WithTimeout(reader.ctx, stepTimeout)
		status, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil || status != 403 {
			t.Errorf("reader POST %s = %d (%v), want 403", action, status, err)
		}
	}
	s.open("/admin/subscriptions") // a tenant administrator: partner only
	if h := s.text("main h1"); !strings.Contains(h, "Forbidden") {
		t.Errorf("/admin/subscriptions as a tenant administrator: %q", h)
	}
	read(t, env, func(e *licensing.Engine) {
		if dumpPools(e) != before || e.UserCount() != users {
			t.Error("a refused form changed the tenant")
		}
	})
}

// browserFormPhone: On a phone, pages stay within the screen with a 300-character name:
// long names are cut with the whole name in the title, and list tables
// reflow into one block per row.
func browserFormPhone(t *testing.T, browser context.Context, env *apitest.Env, info demo.Info) {
	long := strings.Repeat("Verylongname", 25) // 300 characters, no space to break at
	tn, _ := env.RT.Get(demo.TenantID)
	uid, gid := auth.NewID(), auth.NewID()
	err := tn.Do(t.Context(), licensing.Op{Actor: "test", Now: env.RT.Now()}, func(tx *tenant.Tx) error {
		// Straight into the engine: the write paths refuse names over
		// 256 characters, but imported data may have them.
		if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, DisplayName: long, UserPrincipalName: "long@contoso.example",
			AccountEnabled: true, UsageLocation: "US"}.With(userprop.Department, long)); err != nil {
			return err
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: gid, DisplayName: long, SecurityEnabled: true, Description: long}); err != nil {
			return err
		}
		return tx.Engine.AddMembers(tx.Op, gid, []string{uid})
	})
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, browser, env.URL)
	s.do(chromedp.EmulateViewport(375, 740))
	s.signIn(info.AdminToken)
	var heldUser, e3 string
	read(t, env, func(e *licensing.Engine) {
		e3 = skuID(t, env, "SPE_E3")
		e.ForEachUser(func(u *licensing.User) bool {
			if len(e.Licenses(u.ID)) > 1 {
				heldUser = u.ID
			}
			return heldUser == ""
		})
	})
	// The detail tables too: a user's licenses, a group's licenses, an
	// allotment's assignments, a product's groups and plans, the
	// reports.
	for _, page := range []string{"/admin/users?q=" + url.QueryEscape("verylong"), "/admin/users/" + uid, "/admin/groups?q=verylong", "/admin/groups/" + gid,
		"/admin/allotments", "/admin/tokens", "/admin/", "/admin/users/" + uid + "/edit",
		"/admin/users/" + heldUser, "/admin/groups/" + groupID(t, env, "Finance analysts"), "/admin/allotments/" + info.OwnedAllotment,
		"/admin/products", "/admin/products/" + e3, "/admin/errors", "/admin/waiting", "/admin/audit", "/admin/findings", "/admin/alerts", "/admin/chargeback?by=allotment"} {
		s.open(page)
		w := eval[int](s, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`)
		if w > 375 {
			t.Errorf("%s is %d px wide on a 375 px screen: %s", page, w, s.widest())
		}
		// No table scrolls sideways inside its frame either.
		if n := eval[string](s, `[...document.querySelectorAll(".table-wrap")].filter(e => e.scrollWidth > e.clientWidth + 1)
			.map(e => (e.closest("section")||{}).id || e.previousElementSibling?.textContent || "a table").join("; ")`); n != "" {
			t.Errorf("%s: tables scroll sideways on a phone: %s", page, n)
		}
	}
	s.open("/admin/users/" + heldUser)
	if got := eval[string](s, `getComputedStyle(document.querySelector(".table-wrap table:not(.list) td")).display`); got != "block" {
		t.Errorf("a user's licenses table on a phone: display %q, want block (reflowed)", got)
	}
	s.open("/admin/users?q=verylong")
	if got := eval[string](s, `document.querySelector("table.list td a.trunc").title`); got != long {
		t.Errorf("the cut name's title = %.40q…, want the whole name", got)
	}
	if got := eval[string](s, `getComputedStyle(document.querySelector("table.list td")).display`); got != "block" {
		t.Errorf("table cells on a phone: display %q, want block (reflowed)", got)
	}
	// Wide screens keep the table.
	s.do(chromedp.EmulateViewport(1280, 900))
	s.open("/admin/users?q=verylong")
	if got := eval[string](s, `getComputedStyle(document.querySelector("table.list td")).display`); got != "table-cell" {
		t.Errorf("table cells on a wide screen: display %q", got)
	}
	if w := eval[int](s, `document.documentElement.scrollWidth`); w > 1280 {
		t.Errorf("users page is %d px wide at 1280: %s", w, s.widest())
	}
}
