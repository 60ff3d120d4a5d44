package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"allot/api/apitest"
	"allot/licensing"
	"allot/web/demo"
)

// TestBrowser drives the admin center in headless Chromium: the scenarios
// an administrator and a delegated owner go through, JavaScript included.
func TestBrowser(t *testing.T) {
	browser := startBrowser(t)

	t.Run("SignInAndDashboard", func(t *testing.T) {
		env, info := demoEnv(t, 400)
		s := newSession(t, browser, env.URL)
		s.signIn(info.AdminToken)
		s.open("/admin/")
		if h := s.text("main h1"); h != "Dashboard" {
			t.Fatalf("heading = %q", h)
		}
		s.do(chromedp.WaitVisible(chromedp.CSS("figure.chart svg.wide")))
		s.waitText(".cards", "users waiting for a seat")
		// Times are shown in the viewer's zone by the page's script (the
		// UTC rendering moves to the tooltip).
		ok, err := chromedp.Run(s.ctx, chromedp.Evaluate[bool](`(() => { const t = document.querySelector("time"); return !!t && t.title.endsWith("UTC") && !t.textContent.endsWith("UTC"); })()`))
		if err != nil || !ok {
			t.Errorf("times were not converted to the local zone (%v)", err)
		}
		// The first Tab reaches the skip link.
		s.do(chromedp.KeyEvent(kb.Tab))
		active, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`document.activeElement.className`))
		if active != "skip" {
			t.Errorf("first Tab focuses %q, want the skip link", active)
		}
	})

	t.Run("AssignALicenseToAGroup", func(t *testing.T) {
		env, info := demoEnv(t, 400)
		g := groupID(t, env, "Engineering")
		visio := skuID(t, env, "VISIOCLIENT")
		s := newSession(t, browser, env.URL)
		s.signIn(info.AdminToken)
		s.open("/admin/groups/" + g)
		s.do(chromedp.SetValue(chromedp.CSS(`select[name=license]`), visio),
			chromedp.Click(chromedp.CSS(`form.inline-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#license-form")))
		// Switch the first plan off, then assign.
		s.do(chromedp.Click(chromedp.CSS(`#license-form input[name=plan]`)),
			chromedp.Click(chromedp.CSS(`#license-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
		s.waitText(".flash.ok", "VISIOCLIENT assigned to the group")
		s.waitText("#lic-h + .table-wrap", "VISIOCLIENT")
		read(t, env, func(e *licensing.Engine) {
			ls := e.GroupLicenses(g)
			if len(ls) != 1 || ls[0].SKUID != visio || len(ls[0].DisabledPlans) != 1 {
				t.Errorf("group licenses = %+v, want VISIOCLIENT with one plan off", ls)
			}
		})
	})

	t.Run("WaitingUserAdmittedWhenUnitsAreRaised", func(t *testing.T) {
		env, info := demoEnv(t, 400)
		e5 := skuID(t, env, "SPE_E5")
		var first string
		var upn string
		read(t, env, func(e *licensing.Engine) {
			first = e.WaitingRoom(e5)[0].UserID
			u, _ := e.User(first)
			upn = u.UserPrincipalName
		})
		s := newSession(t, browser, env.URL)
		s.signIn(info.AdminToken)
		s.open("/admin/waiting?sku=" + e5)
		s.waitText("table.waiting tbody tr:first-child", upn)
		s.open("/admin/users/" + first)
		s.waitText("#lic-"+e5, "waiting #1")
		// Buy one more seat through the partner API.
		subs := env.Must(200, "GET", "/partner/v1/customers/"+demo.TenantID+"/subscriptions", apitest.PartnerToken, nil)
		var id string
		var qty float64
		for _, it := range subs.JSON()["items"].([]any) {
			m := it.(map[string]any)
			if m["skuPartNumber"] == "SPE_E5" {
				id, qty = m["id"].(string), m["quantity"].(float64)
			}
		}
		env.Must(200, "PATCH", "/partner/v1/customers/"+demo.TenantID+"/subscriptions/"+id, apitest.PartnerToken, map[string]any{"quantity": int(qty) + 1})
		s.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1")))
		s.waitText("#lic-"+e5, "holds a seat")
		s.open("/admin/waiting?sku=" + e5)
		if row := s.text("table.waiting tbody tr:first-child"); strings.Contains(row, upn) {
			t.Errorf("%s is still first in the waiting room", upn)
		}
	})

	t.Run("RuleEditorValidatesAsYouType", func(t *testing.T) {
		env, info := demoEnv(t, 400)
		g := groupID(t, env, "Engineering")
		var legal int
		read(t, env, func(e *licensing.Engine) {
			e.ForEachUser(func(u *licensing.User) bool {
				if u.Department() == "Legal" {
					legal++
				}
				return true
			})
		})
		s := newSession(t, browser, env.URL)
		s.signIn(info.AdminToken)
		s.open("/admin/groups/" + g)
		s.do(emptyField("#rule"), chromedp.SendKeys(chromedp.CSS("#rule"), `user.department -eq "Legal" -and`))
		s.waitText("#rule-check", "The rule has a problem")
		s.waitText("#rule-check", "Line 1, column")
		if inv, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`document.querySelector("#rule").getAttribute("aria-invalid")`)); inv != "true" {
			t.Errorf("aria-invalid = %q on a bad rule", inv)
		}
		s.do(emptyField("#rule"), chromedp.SendKeys(chromedp.CSS("#rule"), `user.department -eq "Legal"`))
		s.waitText("#rule-check", "The rule is valid.")
		s.waitText("#rule-check", fmt.Sprintf("matches %d users", legal))
		s.do(chromedp.Click(chromedp.CSS(`button[value=save]`)), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
		s.waitText(".flash.ok", "Membership rule saved")
		s.waitText("#members-h ~ .pager .count", fmt.Sprintf("%d members", legal))
		read(t, env, func(e *licensing.Engine) {
			if n := e.MemberCount(g); n != legal {
				t.Errorf("members = %d, want %d", n, legal)
			}
		})
	})

	t.Run("DelegatedOwnerSeesOnlyTheirAllotment", func(t *testing.T) {
		env, info := demoEnv(t, 400)
		s := newSession(t, browser, env.URL)
		s.signIn(info.OwnerToken)
		s.waitText("main", "Finance – Power BI")
		if txt := s.text("main"); strings.Contains(txt, "Marketing – Visio") {
			t.Error("the owner sees another allotment")
		}
		if nav := s.text("nav.side"); strings.Contains(nav, "Users") || strings.Contains(nav, "Audit") {
			t.Errorf("the owner's navigation offers %q", nav)
		}
		s.do(chromedp.Click(chromedp.CSS(`a[href="/admin/allotments/`+info.OwnedAllotment+`"]`)), chromedp.WaitVisible(chromedp.CSS("#wait-h")))
		s.waitText("main", "Finance analysts")
		s.open("/admin/allotments/" + info.OtherAllotment)
		s.waitText("main", "does not exist or is not visible to you")
		s.open("/admin/users")
		s.waitText("main h1", "404")
	})
}

// emptyField empties a text field (chromedp's Clear does not handle a
// textarea whose text was typed).
func emptyField(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool](`(document.querySelector(`+jsString(sel)+`).value = "", true)`)(ctx, t)
		return chromedp.Void{}, err
	}
}
