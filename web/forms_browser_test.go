package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"allot/api/apitest"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
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

	t.Run("User", func(t *testing.T) {
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
			if u, ok := e.UserByUPN("browser@contoso.example"); !ok || u.Department != "Browsers" || u.UsageLocation != "GB" {
				t.Errorf("user = %+v", u)
			}
		})
	})

	t.Run("Group", func(t *testing.T) {
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
	})

	t.Run("Allotment", func(t *testing.T) {
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
	})

	t.Run("Token", func(t *testing.T) {
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
	})

	t.Run("Subscription", func(t *testing.T) {
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
	})

	// Each form refuses a forged CSRF token (403) and a reader's post
	// (403), and the tenant stays as it was.
	t.Run("CSRFAndRoles", func(t *testing.T) {
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
		}
		s := admin
		s.t = t
		for _, f := range forms {
			s.open(f.page)
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
			"/admin/tokens", "/admin/settings", "/admin/groups/x/members"} {
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
	})

	// On a phone, pages stay within the screen with a 300-character name:
	// long names are cut with the whole name in the title, and list tables
	// reflow into one block per row.
	t.Run("Phone", func(t *testing.T) {
		long := strings.Repeat("Verylongname", 25) // 300 characters, no space to break at
		tn, _ := env.RT.Get(demo.TenantID)
		uid, gid := auth.NewID(), auth.NewID()
		err := tn.Do(t.Context(), licensing.Op{Actor: "test", Now: env.RT.Now()}, func(tx *tenant.Tx) error {
			// Straight into the engine: the write paths refuse names over
			// 256 characters, but imported data may have them.
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, DisplayName: long, UserPrincipalName: "long@contoso.example",
				Department: long, AccountEnabled: true, UsageLocation: "US"}); err != nil {
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
		for _, page := range []string{"/admin/users?q=" + url.QueryEscape("verylong"), "/admin/users/" + uid, "/admin/groups?q=verylong", "/admin/groups/" + gid,
			"/admin/allotments", "/admin/tokens", "/admin/", "/admin/users/" + uid + "/edit"} {
			s.open(page)
			w := eval[int](s, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`)
			if w > 375 {
				t.Errorf("%s is %d px wide on a 375 px screen: %s", page, w, s.widest())
			}
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
	})
}
