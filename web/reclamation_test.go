package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"allot/alert"
	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/api/server"
	"allot/internal/testclock"
	"allot/licensing"
	"allot/prices"
	"allot/reclamation"
	"allot/store"
	"allot/tenant"
	"allot/usage"
	"allot/userprop"
	"allot/web"
)

// testClock is the tests' settable clock.
type testClock = testclock.Clock

// reclaimEnv is a server with the admin center and a reclamation
// service on a fake clock, and a tenant whose users u1…u3 hold
// ENTERPRISEPACK directly and have been idle for two months (u4 holds it
// through a group: excluded), priced at 23 EUR a month.
type reclaimEnv struct {
	*apitest.Env
	clk    *testClock
	svc    *reclamation.Service
	alerts *alert.Service
	tn     *tenant.Tenant
	tid    string
	sku    string
}

var reclaimKey = reclamation.LinkKey([]byte("0123456789abcdef0123456789abcdef"))

func newReclaimEnv(t *testing.T) *reclaimEnv {
	clk := testclock.New(time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC))
	re := &reclaimEnv{clk: clk}
	mount := func(s *server.Server) {
		re.alerts = alert.New(alert.Config{Store: s.Store.(store.AlertStore), Now: clk.Now})
		re.alerts.Attach(s.RT)
		re.svc = reclamation.New(reclamation.Config{Alerts: re.alerts, Key: reclaimKey, BaseURL: "https://allot.test", Now: clk.Now})
		re.svc.Attach(s.RT)
		web.Mount(web.Options{Reclamation: re.svc})(s)
	}
	re.Env = apitest.NewWithClock(t, clk.Now, partner.Register, admin.Register, mount)
	re.tid = re.Customer("Contoso", "US")
	re.Subscribe(re.tid, "ENTERPRISEPACK", 10)
	re.tn, _ = re.RT.Get(re.tid)
	re.tn.Read(func(s *tenant.State) {
		for _, p := range s.Engine.Pools() {
			re.sku = p.SKU.ID
		}
	})
	re.do(t, func(tx *tenant.Tx) error {
		for i := 1; i <= 4; i++ {
			id := fmt.Sprintf("u%d", i)
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id + "@contoso.example", DisplayName: "User " + id,
				AccountEnabled: true, UserType: "Member", UsageLocation: "US"}.With(userprop.Mail, id+"@contoso.example")); err != nil {
				return err
			}
			if i < 4 {
				if err := tx.Engine.AssignUserLicenses(tx.Op, id, []licensing.AssignedLicense{{SKUID: re.sku, DisabledPlans: []string{}}}, nil); err != nil {
					return err
				}
			}
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g1", DisplayName: "Sales", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AddMembers(tx.Op, "g1", []string{"u4"}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "g1", []licensing.AssignedLicense{{SKUID: re.sku, DisabledPlans: []string{}}}, nil); err != nil {
			return err
		}
		return prices.Put(tx, prices.List{Currency: "EUR", Prices: []prices.Price{{SKUID: re.sku, SKUPartNumber: "ENTERPRISEPACK", MonthlyUnitPrice: 23}}})
	})
	first := clk.Now().Add(time.Hour)
	clk.Add(60 * 24 * time.Hour)
	var lines []string
	for i := 1; i <= 4; i++ {
		lines = append(lines, fmt.Sprintf(`{"id":"s%d","user":"u%d@contoso.example","at":%q,"application":"Outlook","interactive":true}`, i, i, first.Format(time.RFC3339)))
	}
	re.do(t, func(tx *tenant.Tx) error {
		_, err := usage.ParseSignIns([]byte(strings.Join(lines, "\n"))).Apply(tx)
		return err
	})
	return re
}

func (re *reclaimEnv) do(t *testing.T, fn func(tx *tenant.Tx) error) {
	t.Helper()
	if err := re.tn.Do(context.Background(), licensing.Op{Actor: "test", Now: re.clk.Now()}, fn); err != nil {
		t.Fatal(err)
	}
}

func (re *reclaimEnv) campaign(t *testing.T, id string) (reclamation.Campaign, map[string]reclamation.Member) {
	t.Helper()
	var c reclamation.Campaign
	var ms []reclamation.Member
	var err error
	re.tn.Read(func(s *tenant.State) {
		if c, err = reclamation.Get(s, id); err == nil {
			ms, err = reclamation.Members(s, id)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]reclamation.Member{}
	for _, m := range ms {
		out[m.UserID] = m
	}
	return c, out
}

func (re *reclaimEnv) step(t *testing.T) {
	t.Helper()
	if err := re.svc.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// keep keeps a user's licenses through the keep link the service signs.
func (re *reclaimEnv) keep(t *testing.T, id, user string) {
	t.Helper()
	c, _ := re.campaign(t, id)
	tok := strings.TrimPrefix(re.svc.LinkFor(re.tid, &c, user), "https://allot.test"+reclamation.KeepPath+"?token=")
	if _, _, err := re.svc.Keep(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

func (re *reclaimEnv) hasLicense(user string) bool {
	n := 0
	re.tn.Read(func(s *tenant.State) { n = len(s.Engine.LicensesOf(user, re.sku)) })
	return n > 0
}

var memberRowRE = regexp.MustCompile(`(?s)<tr>\s*<td data-label="User"><a href="/admin/users/(u\d)".*?<td data-label="State"><span class="badge[^"]*">([^<]+)</span>`)

// memberStates reads the member table of a campaign page: user → state.
func memberStates(body string) map[string]string {
	out := map[string]string{}
	for _, m := range memberRowRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestReclamationPage: an administrator builds a campaign from the form
// (a refused form keeps its values and says why; a forged CSRF token
// creates nothing) and sees the preview — members, the saving, the
// excluded user with the reason; a reader sees the pages without forms
// and cannot act; the creator cannot approve, a second administrator
// can; each member's state follows the campaign (noticed, kept,
// removed), and the restore button gives back the licenses it removed.
func TestReclamationPage(t *testing.T) {
	re := newReclaimEnv(t)
	laTok := re.Token(re.tid, "LicenseAdministrator")
	la := newClientSignedIn(t, re.Env, laTok)
	ga := newClientSignedIn(t, re.Env, re.Token(re.tid, "GlobalAdministrator"))
	rd := newClientSignedIn(t, re.Env, re.Token(re.tid, "ReportsReader"))

	p := la.get("/admin/reclamation")
	if p.Status != http.StatusOK {
		t.Fatalf("GET /admin/reclamation = %d\n%s", p.Status, p.Body)
	}
	mustContain(t, p, "<h1>Reclamation campaigns</h1>", "No campaigns yet", `action="/admin/reclamation"`, `href="/admin/reclamation"`, "ENTERPRISEPACK")

	// Refused: bad numbers, a grace period the reminder does not fit in,
	// an unknown kind — with the status and the values kept — and a
	// forged CSRF token. None creates anything.
	for _, bad := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"displayName": {"Keep me"}, "graceDays": {"x"}}, "graceDays must be a whole number"},
		{url.Values{"displayName": {"Keep me"}, "graceDays": {"5"}, "reminderDaysBefore": {"5"}}, "reminderDaysBefore must be 0"},
		{url.Values{"displayName": {"Keep me"}, "kind": {"underLicensed"}}, "not a finding a campaign takes seats back from"},
	} {
		r := la.form("/admin/reclamation", "/admin/reclamation", bad.form)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%v: %d, want 400", bad.form, r.Status)
		}
		mustContain(t, r, bad.want, `value="Keep me"`)
	}
	if r := la.post("/admin/reclamation", url.Values{"csrf": {"forged"}, "id": {"forged"}}); r.Status != http.StatusForbidden {
		t.Errorf("forged CSRF = %d", r.Status)
	}
	if r := rd.form("/admin/reclamation", "/admin/reclamation", url.Values{"id": {"reader"}}); r.Status != http.StatusForbidden {
		t.Errorf("reader create = %d", r.Status)
	}
	var n int
	re.tn.Read(func(s *tenant.State) { n = len(s.IDs(reclamation.KindCampaign)) })
	if n != 0 {
		t.Fatalf("refused forms created %d campaigns", n)
	}

	// The preview.
	r := la.form("/admin/reclamation", "/admin/reclamation", url.Values{"id": {"q4"}, "displayName": {"Idle E3 seats"}, "kind": {"idle", "neverActivated"},
		"sku": {re.sku}, "graceDays": {"7"}, "requireApproval": {"on"}, "action": {"remove"}})
	if r.URL != "/admin/reclamation/q4" {
		t.Fatalf("create landed on %s (%d)\n%s", r.URL, r.Status, r.Body)
	}
	mustContain(t, r, "created as a draft", "This is the preview", "69.00 EUR", "licensed through group", "Excluded",
		`action="/admin/reclamation/q4/start"`, `action="/admin/reclamation/q4/approve"`, `action="/admin/reclamation/q4/cancel"`, "3 days before the end")
	if got := memberStates(r.Body); fmt.Sprint(got) != "map[u1:Pending u2:Pending u3:Pending u4:Excluded]" {
		t.Fatalf("preview members %v", got)
	}
	if got := memberStates(la.get("/admin/reclamation/q4?state=excluded").Body); fmt.Sprint(got) != "map[u4:Excluded]" {
		t.Errorf("excluded filter: %v", got)
	}
	if r := la.get("/admin/reclamation/q4?state=bogus"); r.Status != http.StatusBadRequest {
		t.Errorf("bogus state filter = %d", r.Status)
	}
	if r := la.get("/admin/reclamation/nope"); r.Status != http.StatusNotFound {
		t.Errorf("unknown campaign = %d", r.Status)
	}
	mustContain(t, la.get("/admin/reclamation"), `href="/admin/reclamation/q4"`, "Idle E3 seats", "Draft")

	// A reader sees, without buttons, and cannot act.
	rp := rd.get("/admin/reclamation/q4")
	mustContain(t, rp, "Idle E3 seats", "User u1")
	if strings.Contains(rp.Body, `/start"`) || strings.Contains(rd.get("/admin/reclamation").Body, `id="campaign-form"`) {
		t.Error("a reader sees the forms")
	}
	for _, a := range []string{"start", "approve", "cancel", "restore"} {
		if r := rd.form("/admin/reclamation/q4", "/admin/reclamation/q4/"+a, nil); r.Status != http.StatusForbidden {
			t.Errorf("reader %s = %d", a, r.Status)
		}
	}
	if r := la.post("/admin/reclamation/q4/start", url.Values{"csrf": {"forged"}}); r.Status != http.StatusForbidden {
		t.Errorf("forged start = %d", r.Status)
	}
	if c, _ := re.campaign(t, "q4"); c.Status != reclamation.Draft {
		t.Fatalf("refused buttons changed the campaign: %s", c.Status)
	}

	// Start (awaits approval); the creator's approval is refused; another
	// administrator's runs it.
	r = la.form("/admin/reclamation/q4", "/admin/reclamation/q4/start", nil)
	mustContain(t, r, "awaits the approval of another administrator", "Awaiting approval")
	r = la.form("/admin/reclamation/q4", "/admin/reclamation/q4/approve", nil)
	mustContain(t, r, "approved by another administrator than the one who created it")
	if c, _ := re.campaign(t, "q4"); c.Status != reclamation.AwaitingApproval {
		t.Fatalf("after the creator's approval: %s", c.Status)
	}
	r = ga.form("/admin/reclamation/q4", "/admin/reclamation/q4/approve", nil)
	mustContain(t, r, "Campaign approved and running", "Running")
	if r := ga.form("/admin/reclamation/q4", "/admin/reclamation/q4/start", nil); !strings.Contains(r.Body, "cannot start") {
		t.Errorf("start of a running campaign: %s", r.Body)
	}

	// Notices; u2 keeps the license; the end removes u1's and u3's.
	re.step(t)
	if got := memberStates(la.get("/admin/reclamation/q4").Body); fmt.Sprint(got) != "map[u1:Noticed u2:Noticed u3:Noticed u4:Excluded]" {
		t.Fatalf("after the notices: %v", got)
	}
	re.keep(t, "q4", "u2")
	re.clk.Add(8 * 24 * time.Hour)
	re.step(t)
	la.signIn(laTok) // the session ended with the days that passed
	r = la.get("/admin/reclamation/q4")
	if got := memberStates(r.Body); fmt.Sprint(got) != "map[u1:Removed u2:Kept u3:Removed u4:Excluded]" {
		t.Fatalf("after the end: %v\n%s", got, r.Body)
	}
	mustContain(t, r, "Completed", `action="/admin/reclamation/q4/restore"`, "Restore the licenses this campaign removed")
	if re.hasLicense("u1") || !re.hasLicense("u2") {
		t.Fatal("the end did not remove u1's license or removed u2's")
	}
	r = la.form("/admin/reclamation/q4", "/admin/reclamation/q4/restore", nil)
	mustContain(t, r, "2 licenses restored.")
	if got := memberStates(r.Body); fmt.Sprint(got) != "map[u1:Restored u2:Kept u3:Restored u4:Excluded]" {
		t.Fatalf("after the restore: %v", got)
	}
	if !re.hasLicense("u1") || !re.hasLicense("u3") {
		t.Fatal("the restore did not give the licenses back")
	}
	if r := la.form("/admin/reclamation/q4", "/admin/reclamation/q4/restore", nil); !strings.Contains(r.Body, "cannot be restored") {
		t.Errorf("a second restore: %s", r.Body)
	}
	if r := la.form("/admin/reclamation/q4", "/admin/reclamation/q4/bogus", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown action = %d", r.Status)
	}
}
