package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"allot/reclamation"
	"allot/reportsched"
	"allot/tenant"
)

// emulateZone makes the session's pages run in a time zone and locale.
func emulateZone(zone, locale string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: locale})
		return err
	})
}

// TestBrowserReclamation drives the campaigns pages in Chromium: an
// administrator builds a campaign with the form and sees its preview,
// starts it (it awaits approval), a second administrator approves it;
// on a 375 px phone the campaigns and schedules pages stay within the
// screen with their tables reflowed; the schedules form starts with the
// viewer's time zone and shows the next run in the viewer's zone and
// locale.
func TestBrowserReclamation(t *testing.T) {
	browser := startBrowser(t)
	re := newReclaimEnv(t)
	la := newSession(t, browser, re.URL)
	la.signIn(re.Token(re.tid, "LicenseAdministrator"))

	la.open("/admin/reclamation")
	const form = `form[action="/admin/reclamation"]`
	la.fill(form, "id", "q4", "displayName", "Idle E3 seats", "graceDays", "7")
	la.do(chromedp.Click(chromedp.CSS(form + ` input[name=requireApproval]`)))
	la.submit(form)
	la.waitText(".flash.ok", "created as a draft")
	la.waitText("table.members", "licensed through group")
	if got := la.text(".facts"); !strings.Contains(got, "69.00 EUR") {
		t.Errorf("the preview's facts: %q", got)
	}
	la.clickAndWait(`form[action="/admin/reclamation/q4/start"] button`)
	la.waitText(".flash.ok", "awaits the approval of another administrator")

	ga := newSession(t, browser, re.URL)
	ga.signIn(re.Token(re.tid, "GlobalAdministrator"))
	ga.open("/admin/reclamation/q4")
	ga.clickAndWait(`form[action="/admin/reclamation/q4/approve"] button`)
	ga.waitText(".flash.ok", "approved and running")
	if c, _ := re.campaign(t, "q4"); c.Status != reclamation.Running || c.ApprovedBy == "" {
		t.Fatalf("after the approval: %s", c.Status)
	}
	re.step(t)

	// A schedule in the viewer's zone (Tokyo, en-GB): the form starts with
	// it, and the next run shows in it.
	ga.do(emulateZone("Asia/Tokyo", "en-GB"))
	ga.open("/admin/schedules")
	if z := eval[string](ga, `document.querySelector("#s-timeZone").value`); z != "Asia/Tokyo" {
		t.Errorf("the time zone field starts with %q, want the viewer's Asia/Tokyo", z)
	}
	const sform = `form[action="/admin/schedules"]`
	ga.fill(sform, "id", "daily", "to", "cfo@contoso.example")
	ga.do(chromedp.Click(chromedp.CSS(sform + ` input[value=daily]`)))
	ga.submit(sform)
	ga.waitText(".flash.ok", "Report schedule daily added.")
	ga.waitText("table.schedules", "Daily at 07:00 (Asia/Tokyo)")
	var s reportsched.Schedule
	re.tn.Read(func(st *tenant.State) { s, _ = reportsched.Get(st, "daily") })
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	next := s.Next(re.clk.Now())
	if shown := ga.text(`td[data-label="Next run"] time`); next.IsZero() || !strings.Contains(shown, next.In(tokyo).Format("15:04")) || strings.Contains(shown, "UTC") {
		t.Errorf("next run shown as %q, want %s in Tokyo", shown, next.In(tokyo).Format("15:04"))
	}

	// On a phone.
	la.do(chromedp.EmulateViewport(375, 740))
	for _, page := range []string{"/admin/reclamation", "/admin/reclamation/q4", "/admin/reclamation/q4?state=excluded", "/admin/schedules"} {
		la.open(page)
		if w := eval[int](la, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`); w > 375 {
			t.Errorf("%s is %d px wide on a 375 px screen: %s", page, w, la.widest())
		}
		if n := eval[string](la, `[...document.querySelectorAll(".table-wrap")].filter(e => e.scrollWidth > e.clientWidth + 1).length + ""`); n != "0" {
			t.Errorf("%s: %s tables scroll sideways on a phone", page, n)
		}
		if got := eval[string](la, `getComputedStyle(document.querySelector(".table-wrap table td")).display`); got != "block" {
			t.Errorf("%s: table cells on a phone: display %q, want block (reflowed)", page, got)
		}
	}
}
