package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"allot/auth"
	"allot/reportsched"
	"allot/tenant"
	"allot/web/demo"
)

// TestSchedulesPage: an administrator adds a weekly position and a
// monthly chargeback schedule from the form (a refused one keeps its
// values and says why, with 400; an existing id is 409), sees each one's
// next run as a <time> the page's script shows in the viewer's zone, and
// deletes one; a reader sees the list without forms and cannot post; a
// forged CSRF token changes nothing.
func TestSchedulesPage(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClientSignedIn(t, env, info.AdminToken)
	p := c.get("/admin/schedules")
	if p.Status != http.StatusOK {
		t.Fatalf("GET /admin/schedules = %d\n%s", p.Status, p.Body)
	}
	mustContain(t, p, "<h1>Scheduled reports</h1>", "No report schedules yet", `action="/admin/schedules"`, `href="/admin/schedules"`, "data-local-zone")

	weekly := url.Values{"id": {"weekly-position"}, "displayName": {"Weekly position"}, "report": {"position-html"}, "frequency": {"weekly"},
		"weekday": {"monday"}, "day": {"99"}, "at": {"07:30"}, "timeZone": {"Europe/Berlin"}, "to": {"cfo@contoso.example, it@contoso.example"}}
	for _, bad := range []struct {
		change map[string]string
		status int
		want   string
	}{
		{map[string]string{"timeZone": "Mars/Olympus"}, 400, "not a known time zone"},
		{map[string]string{"at": "25:00"}, 400, "time of day HH:MM"},
		{map[string]string{"to": "not-an-address"}, 400, "is not an email address"},
		{map[string]string{"report": "bogus"}, 400, "Choose a report"},
		{map[string]string{"frequency": "monthly", "day": "x"}, 400, "day of the month must be a number"},
		{map[string]string{"report": "chargeback-csv", "by": ""}, 400, "by is required"},
	} {
		f := url.Values{}
		for k, v := range weekly {
			f[k] = v
		}
		for k, v := range bad.change {
			f.Set(k, v)
		}
		r := c.form("/admin/schedules", "/admin/schedules", f)
		if r.Status != bad.status {
			t.Errorf("%v: %d, want %d", bad.change, r.Status, bad.status)
		}
		mustContain(t, r, bad.want, `value="Weekly position"`)
	}
	if r := c.post("/admin/schedules", url.Values{"csrf": {"forged"}, "id": {"x"}}); r.Status != http.StatusForbidden {
		t.Errorf("forged CSRF = %d", r.Status)
	}
	tn, _ := env.RT.Get(demo.TenantID)
	list := func() []reportsched.Schedule {
		var out []reportsched.Schedule
		tn.Read(func(s *tenant.State) { out, _ = reportsched.Schedules(s) })
		return out
	}
	if n := len(list()); n != 0 {
		t.Fatalf("refused forms stored %d schedules", n)
	}

	r := c.form("/admin/schedules", "/admin/schedules", weekly)
	mustContain(t, r, "Report schedule weekly-position added.", "Every Monday at 07:30 (Europe/Berlin)", "License position (HTML)", "cfo@contoso.example, it@contoso.example")
	monthly := url.Values{"id": {"chargeback"}, "report": {"chargeback-csv"}, "by": {"department"}, "frequency": {"monthly"}, "weekday": {"friday"},
		"day": {"1"}, "at": {"06:00"}, "timeZone": {"UTC"}, "to": {"finance@contoso.example"}}
	r = c.form("/admin/schedules", "/admin/schedules", monthly)
	mustContain(t, r, "Report schedule chargeback added.", "Monthly on day 1 at 06:00 (UTC)", "Chargeback by department (CSV)")
	got := list()
	if len(got) != 2 || got[0].ID != "chargeback" || got[0].Weekday != "" || got[0].TimeZone != "" || got[1].Day != 0 || len(got[1].To) != 2 {
		t.Fatalf("stored %+v", got)
	}
	// The next run, as a time the page's script localises.
	next := got[1].Next(env.RT.Now()).Format(time.RFC3339)
	mustContain(t, r, `<td data-label="Next run"><time datetime="`+next+`">`)
	if r := c.form("/admin/schedules", "/admin/schedules", weekly); r.Status != http.StatusConflict || !strings.Contains(r.Body, "exists") {
		t.Errorf("an existing id: %d", r.Status)
	}

	rd := newClientSignedIn(t, env, tenantToken(t, env, auth.RoleReportsReader))
	rp := rd.get("/admin/schedules")
	mustContain(t, rp, "Weekly position")
	if strings.Contains(rp.Body, `id="schedule-form"`) || strings.Contains(rp.Body, "/delete") {
		t.Error("a reader sees the forms")
	}
	if r := rd.form("/admin/schedules", "/admin/schedules/weekly-position/delete", nil); r.Status != http.StatusForbidden {
		t.Errorf("reader delete = %d", r.Status)
	}
	if r := c.post("/admin/schedules/weekly-position/delete", url.Values{"csrf": {"forged"}}); r.Status != http.StatusForbidden {
		t.Errorf("forged delete = %d", r.Status)
	}
	if len(list()) != 2 {
		t.Fatal("a refused delete deleted")
	}
	r = c.form("/admin/schedules", "/admin/schedules/weekly-position/delete", nil)
	mustContain(t, r, "Report schedule weekly-position deleted.")
	if l := list(); len(l) != 1 || l[0].ID != "chargeback" {
		t.Fatalf("after the delete: %+v", l)
	}
	r = c.form("/admin/schedules", "/admin/schedules/nope/delete", nil)
	mustContain(t, r, "does not exist")
}
