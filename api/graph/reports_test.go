package graph_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"allot/api/graph"
	apiusage "allot/api/usage"
	"allot/reports"
	"allot/tenant"
	"allot/usage"
)

const activeHeader = "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Has Exchange License,Has OneDrive License,Has SharePoint License,Has Skype For Business License,Has Yammer License,Has Teams License,Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,Skype For Business Last Activity Date,Yammer Last Activity Date,Teams Last Activity Date,Exchange License Assign Date,OneDrive License Assign Date,SharePoint License Assign Date,Skype For Business License Assign Date,Yammer License Assign Date,Teams License Assign Date,Assigned Products\n"

const mailboxHeader = "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Created Date,Last Activity Date,Item Count,Storage Used (Byte),Issue Warning Quota (Byte),Prohibit Send Quota (Byte),Prohibit Send/Receive Quota (Byte),Deleted Item Count,Deleted Item Size (Byte),Deleted Item Quota (Byte),Has Archive,Recipient Type,Report Period\n"

// appsHeader is getM365AppUserDetail's header (36 columns).
const appsHeader = "Report Refresh Date,User Principal Name,Last Activation Date,Last Activity Date,Report Period,Windows,Mac,Mobile,Web," +
	"Outlook,Word,Excel,PowerPoint,OneNote,Teams," +
	"Outlook (Windows),Word (Windows),Excel (Windows),PowerPoint (Windows),OneNote (Windows),Teams (Windows)," +
	"Outlook (Mac),Word (Mac),Excel (Mac),PowerPoint (Mac),OneNote (Mac),Teams (Mac)," +
	"Outlook (Mobile),Word (Mobile),Excel (Mobile),PowerPoint (Mobile),OneNote (Mobile),Teams (Mobile)," +
	"Outlook (Web),Word (Web),Excel (Web),PowerPoint (Web),OneNote (Web),Teams (Web)\n"

// reportTenant is a tenant with three users (two licensed) and usage
// imported from Microsoft-shaped CSVs.
func reportTenant(t *testing.T, withUsage bool) (*fixture, map[string]string) {
	f := newFixture(t, graph.Register, apiusage.Register)
	ids := map[string]string{}
	for _, n := range []string{"ann", "bob", "cid"} {
		ids[n+"@contoso.example"] = f.user(n+"@contoso.example", strings.ToUpper(n[:1])+n[1:])
	}
	for _, n := range []string{"ann", "bob"} {
		f.Must(200, "POST", "/v1.0/users/"+ids[n+"@contoso.example"]+"/assignLicense", f.admin,
			map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []string{}})
	}
	if !withUsage {
		return f, ids
	}
	d1 := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	d3 := time.Now().UTC().AddDate(0, 0, -3).Format(time.DateOnly)
	d5 := time.Now().UTC().AddDate(0, 0, -5).Format(time.DateOnly)
	active := activeHeader +
		d1 + ",ann@contoso.example,Ann,False,,True,True,True,False,False,True," + d3 + ",,," + ",," + d1 + ",,,,,,,MICROSOFT 365 E3\n" +
		d1 + ",bob@contoso.example,Bob,False,,True,True,True,False,False,True,,," + d5 + ",,,,,,,,,,MICROSOFT 365 E3\n" +
		d1 + ",cid@contoso.example,Cid,False,,False,False,False,False,False,False,,,,," + d5 + ",,,,,,,,\n"
	mailbox := mailboxHeader +
		d1 + ",ann@contoso.example,Ann,False,,2020-01-01," + d3 + ",10,123456,1,2,3,0,0,0,True,UserMailbox,30\n" +
		d1 + ",cid@contoso.example,Cid,False,,2020-01-01,,3,1000,1,2,3,0,0,0,False,SharedMailbox,30\n"
	apps := appsHeader +
		d1 + ",ann@contoso.example,2024-01-10," + d3 + ",7,Yes,No,Yes,No" + strings.Repeat(",", 30) + "\n" +
		d1 + ",bob@contoso.example,," + d5 + ",7,No,No,No,Yes" + strings.Repeat(",", 30) + "\n"
	for _, csv := range []string{active, mailbox, apps} {
		r := f.Must(200, "POST", "/allot/v1/usage/reports", f.admin, csv, "Content-Type: text/csv").JSON()
		if r["accepted"].(float64) == 0 {
			t.Fatalf("source report not taken: %v", r)
		}
	}
	return f, ids
}

// usageFacts is what a report carries of a user's usage, by name.
type usageFacts struct {
	Workloads map[string]string
	Mailbox   usage.MailboxFacts
}

func factsOf(t *testing.T, f *fixture, ids map[string]string) map[string]usageFacts {
	t.Helper()
	tn, ok := f.RT.Get(f.tenant)
	if !ok {
		t.Fatal("no tenant")
	}
	out := map[string]usageFacts{}
	tn.Read(func(s *tenant.State) {
		for upn, id := range ids {
			u, _ := usage.Of(s).User(id)
			fx := usageFacts{Workloads: map[string]string{}, Mailbox: u.Mailbox}
			fx.Mailbox.ReportDate, fx.Mailbox.HoldDate = 0, 0 // the report's own date
			for _, w := range []string{usage.WorkloadExchange, usage.WorkloadOneDrive, usage.WorkloadSharePoint, usage.WorkloadSkype, usage.WorkloadVivaEngage, usage.WorkloadTeams} {
				if d, ok := u.WorkloadLastActivity(w); ok {
					fx.Workloads[w] = d.String()
				}
			}
			for _, id := range []string{"officeDesktopApps", "officeMobileApps", "officeWebApps"} {
				if f, ok := u.Feature(id); ok {
					fx.Workloads[id] = usage.DayOf(f.Last).String()
				}
			}
			out[upn] = fx
		}
	})
	return out
}

// TestReportsRoundTrip: the reports a tenant serves, imported into another
// tenant with the same users through allot's own usage importer, give the
// same usage data; concealed, they do once the mapping is given.
func TestReportsRoundTrip(t *testing.T) {
	a, aIDs := reportTenant(t, true)
	want := factsOf(t, a, aIDs)
	if want["ann@contoso.example"].Workloads[usage.WorkloadTeams] == "" || !want["cid@contoso.example"].Mailbox.Known ||
		want["ann@contoso.example"].Workloads["officeMobileApps"] == "" || want["bob@contoso.example"].Workloads["officeWebApps"] == "" {
		t.Fatalf("the source data did not arrive: %+v", want)
	}
	fetch := func(call string) string {
		r := a.Must(200, "GET", "/v1.0/reports/"+call, a.Token(a.tenant, "ReportsReader"), nil)
		if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" || !strings.HasPrefix(string(r.Body), "\ufeffReport Refresh Date,") {
			t.Fatalf("%s: %s %q", call, ct, r.Body)
		}
		return string(r.Body)
	}
	names := []string{"getOffice365ActiveUserDetail", "getMailboxUsageDetail", "getEmailActivityUserDetail", "getOneDriveActivityUserDetail",
		"getSharePointActivityUserDetail", "getTeamsUserActivityUserDetail", "getYammerActivityUserDetail", "getM365AppUserDetail"}

	// Names shown.
	a.Must(204, "PATCH", "/v1.0/admin/reportSettings", a.admin, map[string]any{"displayConcealedNames": false})
	b, bIDs := reportTenant(t, false)
	for _, n := range names {
		csv := fetch(n + "(period='D30')")
		if n == "getOffice365ActiveUserDetail" && !strings.Contains(csv, "ann@contoso.example") {
			t.Fatalf("%s shows names: %s", n, csv)
		}
		b.Must(200, "POST", "/allot/v1/usage/reports?report="+n, b.admin, csv, "Content-Type: text/csv")
	}
	if got := factsOf(t, b, bIDs); !equalJSON(got, want) {
		t.Fatalf("round trip:\n got %s\nwant %s", js(got), js(want))
	}

	// Names concealed (the default of a new tenant, set again here).
	a.Must(204, "PATCH", "/v1.0/admin/reportSettings", a.admin, map[string]any{"displayConcealedNames": true})
	if v := a.Must(200, "GET", "/v1.0/admin/reportSettings", a.admin, nil).JSON(); v["displayConcealedNames"] != true {
		t.Fatalf("settings %v", v)
	}
	c, cIDs := reportTenant(t, false)
	var mapping []map[string]string
	for upn := range cIDs {
		mapping = append(mapping, map[string]string{"hash": reports.Conceal(a.tenant, upn), "userPrincipalName": upn})
	}
	c.Must(200, "PUT", "/allot/v1/usage/concealed-names", c.admin, map[string]any{"value": mapping})
	for _, n := range names {
		csv := fetch(n + "(period='D7')")
		if strings.Contains(csv, "@contoso.example") || n == "getOffice365ActiveUserDetail" && !strings.Contains(csv, reports.Conceal(a.tenant, "ann@contoso.example")) {
			t.Fatalf("%s conceals names: %s", n, csv)
		}
		c.Must(200, "POST", "/allot/v1/usage/reports?report="+n, c.admin, csv, "Content-Type: text/csv")
	}
	if got := factsOf(t, c, cIDs); !equalJSON(got, want) {
		t.Fatalf("concealed round trip:\n got %s\nwant %s", js(got), js(want))
	}
}

func TestReportsRequests(t *testing.T) {
	f, _ := reportTenant(t, true)
	f.Must(204, "PATCH", "/v1.0/admin/reportSettings", f.admin, map[string]any{"displayConcealedNames": false})
	// date=: only the users active that day.
	d5 := time.Now().UTC().AddDate(0, 0, -5).Format(time.DateOnly)
	r := f.Must(200, "GET", "/v1.0/reports/getOffice365ActiveUserDetail(date="+d5+")", f.admin, nil)
	body := string(r.Body)
	if !strings.Contains(body, "bob@contoso.example") || !strings.Contains(body, "cid@contoso.example") || strings.Contains(body, "ann@contoso.example") {
		t.Fatalf("date=%s: %s", d5, body)
	}
	for _, bad := range []string{
		"getOffice365ActiveUserDetail(period='D8')",
		"getOffice365ActiveUserDetail(date=2001-01-01)",
		"getOffice365ActiveUserDetail(date=tomorrow)",
		"getOffice365ActiveUserDetail(when='D7')",
		"getOffice365ActiveUserDetail",
		"getNothing(period='D7')",
	} {
		if r := f.Call("GET", "/v1.0/reports/"+bad, f.admin, nil); r.Status != 400 {
			t.Errorf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	// Roles: the readers of usage reports; settings are the Global Administrator's.
	if r := f.Call("GET", "/v1.0/reports/getMailboxUsageDetail(period='D7')", f.Token(f.tenant, "UserAdministrator"), nil); r.Status != 403 {
		t.Errorf("a User Administrator reads no usage report: %d", r.Status)
	}
	if r := f.Call("PATCH", "/v1.0/admin/reportSettings", f.Token(f.tenant, "GlobalReader"), map[string]any{"displayConcealedNames": true}); r.Status != 403 {
		t.Errorf("a Global Reader changes no report setting: %d", r.Status)
	}
	for _, body := range []string{`{}`, `{"displayConcealedNames":"yes"}`, `{"other":true}`, `[]`} {
		if r := f.Call("PATCH", "/v1.0/admin/reportSettings", f.admin, body); r.Status != 400 {
			t.Errorf("PATCH %s: %d", body, r.Status)
		}
	}
	if v := f.Must(200, "GET", "/v1.0/admin/reportSettings", f.admin, nil).JSON(); v["displayConcealedNames"] != false {
		t.Fatalf("refused changes changed the setting: %v", v)
	}
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func equalJSON(a, b any) bool { return js(a) == js(b) }
