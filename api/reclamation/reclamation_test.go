package reclamation_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"allot/alert"
	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	reclamationapi "allot/api/reclamation"
	"allot/api/server"
	"allot/internal/testclock"
	"allot/licensing"
	"allot/reclamation"
	"allot/store"
	"allot/tenant"
	"allot/usage"
)

// clock is the tests' settable clock.
type clock = testclock.Clock

var testKey = reclamation.LinkKey([]byte("0123456789abcdef0123456789abcdef"))

// mounter returns a mount of the API with a service on clk (nil: the
// real clock) and the service it made.
func mounter(clk func() time.Time) (apitest.Mount, **reclamation.Service) {
	var svc *reclamation.Service
	return func(s *server.Server) {
		alerts := alert.New(alert.Config{Store: s.Store.(store.AlertStore), Now: clk})
		alerts.Attach(s.RT)
		svc = reclamation.New(reclamation.Config{Alerts: alerts, Key: testKey, BaseURL: "https://allot.test", Now: clk})
		svc.Attach(s.RT)
		reclamationapi.Register(s, svc)
	}, &svc
}

// TestCampaignAPI: create (the preview), roles, approval by a second
// principal, the keep link's pages (a bad one changes nothing), the end
// of the grace period and restore, through HTTP.
func TestCampaignAPI(t *testing.T) {
	clk := testclock.New(time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC))
	mount, svcp := mounter(clk.Now)
	e := apitest.NewWithClock(t, clk.Now, partner.Register, admin.Register, mount)
	svc := *svcp
	tn := e.Customer("Contoso", "US")
	e.Subscribe(tn, "ENTERPRISEPACK", 5)
	ga := e.Token(tn, "GlobalAdministrator")
	la := e.Token(tn, "LicenseAdministrator")
	rr := e.Token(tn, "ReportsReader")
	ua := e.Token(tn, "UserAdministrator")
	seedIdleUsers(t, e, tn, clk)
	c := &campaignAPI{t: t, e: e, svc: svc, tn: tn, ga: ga, la: la, rr: rr}
	c.rolesAndPreview(ua)
	v := c.approvalQueuesTheNotices()
	good := c.keepLinkPages(v)
	c.endAndRestore(clk, good)
}

// campaignAPI is TestCampaignAPI's server, reclamation service, tenant and
// tokens (Global, License Administrator, Reports Reader).
type campaignAPI struct {
	t          *testing.T
	e          *apitest.Env
	svc        *reclamation.Service
	tn         string
	ga, la, rr string
}

const campaignsPath = "/allot/v1/reclamation/campaigns"

// seedIdleUsers gives the tenant u1, u2 and u3 with a license each; 60
// days later u1 has signed in once, at the start.
func seedIdleUsers(t *testing.T, e *apitest.Env, tn string, clk *clock) {
	tt, _ := e.RT.Get(tn)
	do := func(fn func(tx *tenant.Tx) error) {
		t.Helper()
		if err := tt.Do(context.Background(), licensing.Op{Actor: "test", Now: clk.Now()}, fn); err != nil {
			t.Fatal(err)
		}
	}
	var sku string
	tt.Read(func(s *tenant.State) {
		for _, p := range s.Engine.Pools() {
			sku = p.SKU.ID
		}
	})
	do(func(tx *tenant.Tx) error {
		for i := 1; i <= 3; i++ {
			id := fmt.Sprintf("u%d", i)
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id + "@contoso.example", DisplayName: id, AccountEnabled: true,
				UserType: "Member", UsageLocation: "US"}); err != nil {
				return err
			}
			if err := tx.Engine.AssignUserLicenses(tx.Op, id, []licensing.AssignedLicense{{SKUID: sku, DisabledPlans: []string{}}}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	first := clk.Now().Add(time.Hour)
	clk.Add(60 * 24 * time.Hour)
	do(func(tx *tenant.Tx) error {
		_, err := usage.ParseSignIns([]byte(fmt.Sprintf(`{"id":"s1","user":"u1@contoso.example","at":%q,"application":"Outlook","interactive":true}`,
			first.Format(time.RFC3339)))).Apply(tx)
		return err
	})
}

// rolesAndPreview: roles and bad input are refused; a campaign's creation
// answers its preview; ids are unique.
func (c *campaignAPI) rolesAndPreview(ua string) {
	t, e, la, rr, base := c.t, c.e, c.la, c.rr, campaignsPath
	e.Must(403, "POST", base, ua, map[string]any{})
	e.Must(403, "POST", base, rr, map[string]any{})
	e.Must(400, "POST", base, la, map[string]any{"kinds": []string{"underLicensed"}})
	e.Must(400, "POST", base, la, map[string]any{"bogus": 1})
	e.Must(400, "POST", base+"?x=1", la, map[string]any{})

	r := e.Must(201, "POST", base, la, map[string]any{"id": "c1", "displayName": "Idle", "graceDays": 3, "requireApproval": true})
	var v reclamationapi.CampaignView
	r.Decode(t, &v)
	if v.Members != 3 || len(v.MemberList) != 3 || v.Status != reclamation.Draft {
		t.Fatalf("preview: %s", r.Body)
	}
	e.Must(409, "POST", base, la, map[string]any{"id": "c1"})
	e.Must(200, "GET", base, rr, nil)
	e.Must(200, "GET", base+"/c1", rr, nil)
	e.Must(404, "GET", base+"/nope", rr, nil)
	e.Must(403, "POST", base+"/c1/start", rr, nil)
}

// approvalQueuesTheNotices: the creator cannot approve; nothing is queued
// before another administrator approves. It returns the running campaign.
func (c *campaignAPI) approvalQueuesTheNotices() reclamationapi.CampaignView {
	t, e, svc, tn, ga, la, base := c.t, c.e, c.svc, c.tn, c.ga, c.la, campaignsPath
	var v reclamationapi.CampaignView
	r := e.Must(200, "POST", base+"/c1/start", la, nil)
	if !strings.Contains(string(r.Body), `"status":"awaitingApproval"`) {
		t.Fatalf("start: %s", r.Body)
	}
	e.Must(403, "POST", base+"/c1/approve", la, nil)
	if err := svc.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	jobs, _ := e.Store.(store.AlertStore).AlertJobs(context.Background(), tn, "", 100)
	if len(jobs) != 0 {
		t.Fatalf("%d notices queued before approval", len(jobs))
	}
	e.Must(200, "POST", base+"/c1/approve", ga, nil)
	if err := svc.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	jobs, _ = e.Store.(store.AlertStore).AlertJobs(context.Background(), tn, "", 100)
	if len(jobs) != 3 {
		t.Fatalf("%d notices queued after approval", len(jobs))
	}
	e.Must(200, "GET", base+"/c1", la, nil).Decode(t, &v)
	return v
}

// keepLinkPages: a bad keep link is a 400 page and changes nothing; the
// good one's page keeps nothing until posted, twice. It returns u2's good
// token.
func (c *campaignAPI) keepLinkPages(v reclamationapi.CampaignView) string {
	t, e, tn, la, base := c.t, c.e, c.tn, c.la, campaignsPath
	keep := reclamation.KeepPath + "?token="
	good := reclamation.Sign(testKey, reclamation.Token{TenantID: tn, CampaignID: "c1", UserID: "u2", Expires: v.GraceEndsAt})
	for _, bad := range []string{"", "abc", good + "A", url.QueryEscape(reclamation.Sign(testKey, reclamation.Token{TenantID: tn, CampaignID: "c1", UserID: "u2", Expires: v.GraceEndsAt.Add(time.Hour)}))} {
		for _, m := range []string{"GET", "POST"} {
			r := e.Call(m, keep+bad, "", nil)
			if r.Status != 400 || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s keep %q: %d %s", m, bad, r.Status, r.Body)
			}
		}
	}
	if r := e.Call("GET", keep+good+"&x=1", "", nil); r.Status != 400 {
		t.Errorf("an unknown parameter: %d", r.Status)
	}
	var after reclamationapi.CampaignView
	e.Must(200, "GET", base+"/c1", la, nil).Decode(t, &after)
	if after.Counts != v.Counts {
		t.Fatalf("bad links changed the campaign: %+v → %+v", v.Counts, after.Counts)
	}
	r := e.Call("GET", keep+good, "", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `<form method="post"`) {
		t.Fatalf("keep page: %d %s", r.Status, r.Body)
	}
	e.Must(200, "GET", base+"/c1", la, nil).Decode(t, &after)
	if after.Counts.Kept != 0 {
		t.Fatal("opening the page kept the license")
	}
	for range 2 {
		if r = e.Call("POST", keep+good, "", nil); r.Status != 200 || !strings.Contains(string(r.Body), "You keep") {
			t.Fatalf("keep: %d %s", r.Status, r.Body)
		}
	}
	return good
}

// endAndRestore: after the grace period the link has expired and the
// others' licenses are removed; a completed campaign cannot be cancelled,
// and restore brings the licenses back.
func (c *campaignAPI) endAndRestore(clk *clock, good string) {
	t, e, svc, la, base := c.t, c.e, c.svc, c.la, campaignsPath
	keep := reclamation.KeepPath + "?token="
	var after reclamationapi.CampaignView
	clk.Add(4 * 24 * time.Hour)
	if err := svc.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := e.Call("POST", keep+good, "", nil); r.Status != 400 {
		t.Errorf("keep after the end: %d", r.Status)
	}
	e.Must(200, "GET", base+"/c1", la, nil).Decode(t, &after)
	if after.Status != reclamation.Completed || after.Counts.Removed != 2 || after.Counts.Kept != 1 {
		t.Fatalf("after the grace period: %+v", after.Campaign)
	}
	e.Must(409, "POST", base+"/c1/cancel", la, nil)
	e.Must(200, "POST", base+"/c1/restore", la, nil).Decode(t, &after.Campaign)
	if after.Status != reclamation.Restored || after.Counts.Restored != 2 {
		t.Fatalf("after restore: %+v", after.Campaign)
	}
}

// FuzzReclamationAPI: the reclamation surface keeps apitest's invariants
// (no 5xx; a 4xx changes nothing), the public keep link included.
func FuzzReclamationAPI(fz *testing.F) {
	mount, _ := mounter(nil)
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, mount)
	seeds := []apitest.Seed{
		{Method: "POST", Path: "/allot/v1/reclamation/campaigns", Body: `{"id":"c","kinds":["idle","neverActivated"],"skus":["SPE_E3"],"groupId":"{group0}","graceDays":7}`},
		{Method: "POST", Path: "/allot/v1/reclamation/campaigns", Body: `{"action":"downgrade","downgradeTo":"ENTERPRISEPACK","requireApproval":true,"notifyManager":true,"managerAttribute":"extensionattribute1"}`},
		{Method: "GET", Path: "/allot/v1/reclamation/campaigns"},
		{Method: "GET", Path: "/allot/v1/reclamation/campaigns/c"},
		{Method: "POST", Path: "/allot/v1/reclamation/campaigns/c/start"},
		{Method: "POST", Path: "/allot/v1/reclamation/campaigns/c/approve"},
		{Method: "POST", Path: "/allot/v1/reclamation/campaigns/c/cancel"},
		{Method: "POST", Path: "/allot/v1/reclamation/campaigns/c/restore"},
		{Method: "GET", Path: "/allot/v1/reclamation/keep?token=djEKY29udG9zbwpxNAp1MwoxNzk0MDQyMDAw.N4dlTb1u9N5nWxbCtwBpRfOUbLmyoAxdmCjMb25-tnI"},
		{Method: "POST", Path: "/allot/v1/reclamation/keep?token=x.y"},
	}
	w.Surface(fz, []string{"/allot/v1/reclamation"}, seeds, nil)
}
