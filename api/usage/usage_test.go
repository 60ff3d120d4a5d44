package usageapi_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	usageapi "allot/api/usage"
	"allot/catalog"
	"allot/licensing"
	"allot/tenant"
)

type fixture struct {
	*apitest.Env
	tenant string
	admin  string // LicenseAdministrator token
}

// setup starts a server with a tenant of three users; ann and bob hold
// Microsoft 365 E3 granted at grant.
func setup(t *testing.T) *fixture {
	e := apitest.New(t, partner.Register, admin.Register, usageapi.Register)
	id := e.Customer("Contoso", "US")
	e.Subscribe(id, "SPE_E3", 10)
	tn, _ := e.RT.Get(id)
	e3, _ := catalog.Default().SKU("SPE_E3")
	err := tn.Do(context.Background(), licensing.Op{Actor: "test", Now: time.Now()}, func(tx *tenant.Tx) error {
		for i, name := range []string{"ann", "bob", "cid"} {
			uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, UserPrincipalName: name + "@contoso.example", UsageLocation: "US", AccountEnabled: true}); err != nil {
				return err
			}
			if name != "cid" {
				if err := tx.Engine.AssignUserLicenses(tx.Op, uid, []licensing.AssignedLicense{{SKUID: e3.ID}}, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{Env: e, tenant: id, admin: e.Token(id, "LicenseAdministrator")}
}

func today() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

func TestRolesGateIngestionAndReads(t *testing.T) {
	f := setup(t)
	event := `{"id":"e1","user":"ann@contoso.example","feature":"copilot","at":"` + today().Format(time.RFC3339) + `"}`
	reader := f.Token(f.tenant, "ReportsReader")
	global := f.Token(f.tenant, "GlobalReader")
	userAdmin := f.Token(f.tenant, "UserAdministrator")
	globalAdmin := f.Token(f.tenant, "GlobalAdministrator")
	nd := "Content-Type: application/x-ndjson"
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		headers                   []string
		want                      int
	}{
		{"reports reader cannot ingest", "POST", "/allot/v1/usage/events", reader, event, []string{nd}, 403},
		{"global reader cannot ingest", "POST", "/allot/v1/signins", global, `{"value":[]}`, nil, 403},
		{"user administrator cannot ingest", "POST", "/allot/v1/usage/reports", userAdmin, "x", []string{"Content-Type: text/csv"}, 403},
		{"reports reader cannot map names", "PUT", "/allot/v1/usage/concealed-names", reader, `{"value":[]}`, nil, 403},
		{"user administrator cannot read", "GET", "/allot/v1/usage/users/ann@contoso.example", userAdmin, nil, nil, 403},
		{"partner without a tenant header", "POST", "/allot/v1/usage/events", apitest.PartnerToken, event, []string{nd}, 403},
		{"no token", "GET", "/allot/v1/usage/users/ann@contoso.example", "", nil, nil, 401},
		{"license administrator ingests", "POST", "/allot/v1/usage/events", f.admin, event, []string{nd}, 200},
		{"global administrator ingests", "POST", "/allot/v1/usage/events", globalAdmin, event, []string{nd}, 200},
		{"partner ingests for a customer", "POST", "/allot/v1/usage/events", apitest.PartnerToken, event, []string{nd, "X-Allot-Tenant: " + f.tenant}, 200},
		{"reports reader reads", "GET", "/allot/v1/usage/users/ann@contoso.example", reader, nil, nil, 200},
		{"global reader reads", "GET", "/allot/v1/usage/reports", global, nil, nil, 200},
		{"reports reader reads the feature map", "GET", "/allot/v1/usage/features", reader, nil, nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.Call(tc.method, tc.path, tc.token, tc.body, tc.headers...)
			if r.Status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.want, r.Body)
			}
			if tc.want == 403 && r.ErrorCode() != "Authorization_RequestDenied" {
				t.Fatalf("error code %q", r.ErrorCode())
			}
		})
	}
}

func TestEventsWithBadLinesAreIngestedAroundThem(t *testing.T) {
	f := setup(t)
	d := today().Add(-48 * time.Hour)
	ts := func(h int) string { return d.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	body := strings.Join([]string{
		`{"id":"a1","user":"ann@contoso.example","feature":"attackSimulation","at":"` + ts(9) + `"}`,
		`{"id":"a2","user":"ann@contoso.example","feature":"attackSimulation","at":"` + ts(10) + `"`, // truncated
		`{"id":"a3","user":"ann@contoso.example","feature":"THREAT_INTELLIGENCE","at":"` + ts(11) + `"}`,
		`{"id":"a4","user":"nobody@contoso.example","feature":"copilot","at":"` + ts(12) + `"}`,
		`{"id":"a5","user":"ann@contoso.example","feature":"teleportation","at":"` + ts(13) + `"}`,
		`{"id":"a6","user":"ann@contoso.example","feature":"copilot","at":"yesterday"}`,
		`{"id":"a1","user":"ann@contoso.example","feature":"attackSimulation","at":"` + ts(9) + `"}`,
	}, "\n")
	r := f.Must(200, "POST", "/allot/v1/usage/events", f.admin, body, "Content-Type: application/x-ndjson").JSON()
	if r["accepted"].(float64) != 2 || r["duplicates"].(float64) != 1 || r["rejectedCount"].(float64) != 3 || r["unmatchedCount"].(float64) != 1 {
		t.Fatalf("result %v", r)
	}
	var lines []int
	for _, x := range r["rejected"].([]any) {
		lines = append(lines, int(x.(map[string]any)["line"].(float64)))
	}
	if fmt.Sprint(lines) != "[2 5 6]" {
		t.Fatalf("rejected lines %v", lines)
	}
	un := r["unmatched"].([]any)[0].(map[string]any)
	if un["user"] != "nobody@contoso.example" || un["line"].(float64) != 4 {
		t.Fatalf("unmatched %v", un)
	}
	// The same events again change nothing: all duplicates.
	again := f.Must(200, "POST", "/allot/v1/usage/events", f.admin, body, "Content-Type: application/x-ndjson").JSON()
	if again["accepted"].(float64) != 0 || again["duplicates"].(float64) != 3 {
		t.Fatalf("again %v", again)
	}
	u := f.Must(200, "GET", "/allot/v1/usage/users/ann@contoso.example?asOf="+today().Format(time.DateOnly), f.admin, nil).JSON()
	feats := map[string]map[string]any{}
	for _, x := range u["features"].([]any) {
		m := x.(map[string]any)
		feats[m["feature"].(string)] = m
	}
	if a := feats["attackSimulation"]; a == nil || a["licensed"] != false || a["activeDays30"].(float64) != 1 {
		t.Fatalf("attackSimulation %v (E3 does not include Defender for Office 365 Plan 2)", a)
	}
	if p := feats["THREAT_INTELLIGENCE"]; p == nil || p["licensed"] != false {
		t.Fatalf("named plan %v", p)
	}
}

func TestSignInsActivateLicensesAndShowOnTheUser(t *testing.T) {
	f := setup(t)
	at := time.Now().UTC().Add(time.Minute).Format(time.RFC3339)
	r := f.Must(200, "POST", "/allot/v1/signins", f.admin,
		`{"value":[{"id":"s1","user":"bob@contoso.example","at":"`+at+`","application":"Outlook","interactive":true},{"user":"","at":"`+at+`"}]}`).JSON()
	if r["accepted"].(float64) != 1 || r["rejectedCount"].(float64) != 1 {
		t.Fatalf("result %v", r)
	}
	u := f.Must(200, "GET", "/allot/v1/usage/users/00000000-0000-4000-8000-000000000002", f.admin, nil).JSON()
	lic := u["licenses"].([]any)[0].(map[string]any)
	if lic["skuPartNumber"] != "SPE_E3" || lic["assignedDateTime"] == nil || lic["activatedDateTime"] != at {
		t.Fatalf("license %v", lic)
	}
	if si := u["signIns"].(map[string]any); si["lastInteractiveDateTime"] != at || si["activeDays30"].(float64) != 1 {
		t.Fatalf("sign-ins %v", si)
	}
	ann := f.Must(200, "GET", "/allot/v1/usage/users/ann@contoso.example", f.admin, nil).JSON()
	if ann["licenses"].([]any)[0].(map[string]any)["activatedDateTime"] != nil {
		t.Fatalf("ann never signed in: %v", ann["licenses"])
	}
	f.Must(404, "GET", "/allot/v1/usage/users/nobody@contoso.example", f.admin, nil)
	f.Must(400, "GET", "/allot/v1/usage/users/ann@contoso.example?asOf=06/01/2024", f.admin, nil)
}

const mailboxHeader = "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Created Date,Last Activity Date,Item Count,Storage Used (Byte),Issue Warning Quota (Byte),Prohibit Send Quota (Byte),Prohibit Send/Receive Quota (Byte),Deleted Item Count,Deleted Item Size (Byte),Deleted Item Quota (Byte),Has Archive,Recipient Type,Report Period\n"

func TestReportsUploadAsCSVOrMultipartAndReimportIsIdempotent(t *testing.T) {
	f := setup(t)
	day := today().Add(-24 * time.Hour).Format(time.DateOnly)
	csv := mailboxHeader +
		day + `,cid@contoso.example,"Cid, the shared one",False,,2020-01-01,` + day + `,10,60000000000,1,2,3,0,0,0,True,SharedMailbox,7` + "\n" +
		day + ",ann@contoso.example,Ann,False,,2020-01-01,,3,1000,1,2,3,0,0,0,False,UserMailbox,7\n"
	r := f.Must(200, "POST", "/allot/v1/usage/reports", f.admin, csv, "Content-Type: text/csv").JSON()
	if r["report"] != "getMailboxUsageDetail" || r["accepted"].(float64) != 2 || r["reportRefreshDate"] != day {
		t.Fatalf("result %v", r)
	}
	again := f.Must(200, "POST", "/allot/v1/usage/reports", f.admin, csv, "Content-Type: text/csv").JSON()
	if again["duplicate"] != true || again["accepted"].(float64) != 0 {
		t.Fatalf("re-import %v", again)
	}
	forced := f.Must(200, "POST", "/allot/v1/usage/reports?force=true", f.admin, csv, "Content-Type: text/csv").JSON()
	if forced["duplicate"] == true || forced["accepted"].(float64) != 2 {
		t.Fatalf("forced %v", forced)
	}
	mb := f.Must(200, "GET", "/allot/v1/usage/users/cid@contoso.example", f.admin, nil).JSON()["mailbox"].(map[string]any)
	if mb["recipientType"] != "SharedMailbox" || mb["storageUsedInBytes"].(float64) != 60000000000 || mb["hasArchive"] != true {
		t.Fatalf("mailbox %v", mb)
	}
	list := f.Must(200, "GET", "/allot/v1/usage/reports", f.admin, nil).JSON()["value"].([]any)
	if len(list) != 1 {
		t.Fatalf("reports %v", list)
	}

	// The same file as a multipart upload, naming the report type.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "MailboxUsageDetail.csv")
	fw.Write([]byte(csv))
	mw.Close()
	up := f.Must(200, "POST", "/allot/v1/usage/reports?report=getMailboxUsageDetail", f.admin, buf.Bytes(), "Content-Type: "+mw.FormDataContentType()).JSON()
	if up["duplicate"] != true {
		t.Fatalf("multipart %v", up)
	}
}

func TestBadReportsAreRefusedWithAReason(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		name, body, query, contentType string
		want                           int
		message                        string
	}{
		{"empty", "", "", "text/csv", 400, "empty"},
		{"not a report", "a,b,c\n1,2,3\n", "", "text/csv", 400, "not a recognised usage report"},
		{"wrong type named", mailboxHeader, "?report=getTeamsUserActivityUserDetail", "text/csv", 400, "not that of a getTeamsUserActivityUserDetail report"},
		{"unknown type named", mailboxHeader, "?report=getNothing", "text/csv", 400, "Unknown report"},
		{"bad force", mailboxHeader, "?force=maybe", "text/csv", 400, "force"},
		{"unsupported content type", mailboxHeader, "", "image/png", 400, "Unsupported content type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.Call("POST", "/allot/v1/usage/reports"+tc.query, f.admin, tc.body, "Content-Type: "+tc.contentType)
			if r.Status != tc.want || !strings.Contains(r.ErrorMessage(), tc.message) {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		})
	}
	r := f.Call("POST", "/allot/v1/usage/events", f.admin, "<xml/>", "Content-Type: application/xml")
	if r.Status != http.StatusBadRequest {
		t.Fatalf("events with xml: %d %s", r.Status, r.Body)
	}
	r = f.Call("POST", "/allot/v1/usage/events", f.admin, "   ", "Content-Type: application/x-ndjson")
	if r.Status != http.StatusBadRequest {
		t.Fatalf("empty events: %d %s", r.Status, r.Body)
	}
}

func TestConcealedNamesAreMatchedThroughTheMapping(t *testing.T) {
	f := setup(t)
	day := today().Add(-24 * time.Hour).Format(time.DateOnly)
	const annHash, bobHash = "0123456789ABCDEF0123456789ABCDEF", "FEDCBA9876543210FEDCBA9876543210"
	csv := "Report Refresh Date,User Principal Name,Last Activity Date,Send Count,Receive Count,Read Count,Report Period\n" +
		day + "," + annHash + "," + day + ",1,2,3,7\n" +
		day + "," + bobHash + "," + day + ",1,2,3,7\n"
	r := f.Must(200, "POST", "/allot/v1/usage/reports", f.admin, csv, "Content-Type: text/csv").JSON()
	if r["accepted"].(float64) != 0 || r["unmatchedCount"].(float64) != 2 || r["unmatched"].([]any)[0].(map[string]any)["concealed"] != true {
		t.Fatalf("without a mapping %v", r)
	}
	// Nothing matched: the report is not marked imported, and the answer
	// says what to do.
	if r["notRecorded"] != true || !strings.Contains(r["message"].(string), "concealed-names") || r["concealedCount"].(float64) != 2 {
		t.Fatalf("a concealed report that matched nothing: %v", r)
	}
	if reps := f.Must(200, "GET", "/allot/v1/usage/reports", f.admin, nil).JSON()["value"].([]any); len(reps) != 0 {
		t.Fatalf("recorded: %v", reps)
	}
	f.Must(400, "PUT", "/allot/v1/usage/concealed-names", f.admin, `{"value":[{"hash":"xyz","userPrincipalName":"ann@contoso.example"}]}`)
	m := f.Must(200, "PUT", "/allot/v1/usage/concealed-names", f.admin, `{"value":[{"hash":"`+strings.ToLower(annHash)+`","userPrincipalName":"ann@contoso.example"}]}`).JSON()
	if m["mapped"].(float64) != 1 {
		t.Fatalf("mapping %v", m)
	}
	// The same report again, without force, now matches.
	r = f.Must(200, "POST", "/allot/v1/usage/reports", f.admin, csv, "Content-Type: text/csv").JSON()
	if r["accepted"].(float64) != 1 || r["unmatchedCount"].(float64) != 1 || r["unmatched"].([]any)[0].(map[string]any)["user"] != bobHash {
		t.Fatalf("with a mapping %v", r)
	}
	u := f.Must(200, "GET", "/allot/v1/usage/users/ann@contoso.example", f.admin, nil).JSON()
	if u["workloads"].(map[string]any)["Exchange"] != day {
		t.Fatalf("workloads %v", u["workloads"])
	}
}

// BenchmarkEventsHTTP posts batches of 100,000 JSON-lines events over HTTP
// (parse, one command through the runtime on SQLite, commit, replay).
//
//	go test ./api/usage -run '^$' -bench EventsHTTP -benchtime 10x
func BenchmarkEventsHTTP(b *testing.B) {
	const batch, users = 100_000, 1_000
	e := apitest.New(b, partner.Register, admin.Register, usageapi.Register)
	id := e.Customer("Contoso", "US")
	e.Subscribe(id, "SPE_E3", users)
	tn, _ := e.RT.Get(id)
	e3, _ := catalog.Default().SKU("SPE_E3")
	err := tn.Do(context.Background(), licensing.Op{Actor: "bench", Now: time.Now()}, func(tx *tenant.Tx) error {
		for i := 0; i < users; i++ {
			uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, UserPrincipalName: fmt.Sprintf("u%d@contoso.example", i), UsageLocation: "US", AccountEnabled: true}); err != nil {
				return err
			}
			if err := tx.Engine.AssignUserLicenses(tx.Op, uid, []licensing.AssignedLicense{{SKUID: e3.ID}}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	token := e.Token(id, "LicenseAdministrator")
	features := []string{"exchangeMailbox", "teamsChat", "copilot", "attackSimulation", "oneDriveFiles", "powerBIPro"}
	base := time.Now().UTC().Add(-24 * time.Hour)
	events := 0
	var elapsed time.Duration
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		var buf bytes.Buffer
		for i := 0; i < batch; i++ {
			fmt.Fprintf(&buf, `{"id":"%d-%d","user":"u%d@contoso.example","feature":"%s","at":"%s"}`+"\n",
				n, i, i%users, features[i%len(features)], base.Add(-time.Duration(i%(80*24))*time.Hour).Format(time.RFC3339))
		}
		body := buf.Bytes()
		b.StartTimer()
		start := time.Now()
		r := e.Call("POST", "/allot/v1/usage/events", token, body, "Content-Type: application/x-ndjson")
		elapsed += time.Since(start)
		if r.Status != 200 || !strings.Contains(string(r.Body), fmt.Sprintf(`"accepted":%d`, batch)) {
			b.Fatalf("%d %s", r.Status, r.Body[:min(len(r.Body), 300)])
		}
		events += batch
	}
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
}

func TestUserUsageSaysWhetherAReportOrEventsShowedEachPlan(t *testing.T) {
	f := setup(t)
	day := today().Add(-24 * time.Hour).Format(time.DateOnly)
	csv := "Report Refresh Date,User Principal Name,Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,Teams Last Activity Date\n" +
		day + ",ann@contoso.example," + day + ",,," + day + "\n"
	f.Must(200, "POST", "/allot/v1/usage/reports", f.admin, csv, "Content-Type: text/csv")
	at := today().Add(-20 * time.Hour).Format(time.RFC3339)
	f.Must(200, "POST", "/allot/v1/usage/events", f.admin,
		`{"id":"x1","user":"ann@contoso.example","feature":"teamsChat","at":"`+at+`"}`+"\n"+
			`{"id":"x2","user":"ann@contoso.example","feature":"oneDriveFiles","at":"`+at+`"}`, "Content-Type: application/x-ndjson")
	u := f.Must(200, "GET", "/allot/v1/usage/users/ann@contoso.example?asOf="+today().Format(time.DateOnly), f.admin, nil).JSON()
	sources := func(v any) string {
		var out []string
		for _, x := range v.([]any) {
			m := x.(map[string]any)
			s := m["source"].(string)
			if r, ok := m["report"]; ok {
				s += ":" + r.(string)
			}
			out = append(out, s)
		}
		return strings.Join(out, ",")
	}
	plans := map[string]map[string]any{}
	for _, x := range u["servicePlans"].([]any) {
		m := x.(map[string]any)
		plans[m["servicePlanName"].(string)] = m
	}
	for name, want := range map[string]string{
		"EXCHANGE_S_ENTERPRISE": "report:getOffice365ActiveUserDetail",       // Exchange: the report only
		"TEAMS1":                "report:getOffice365ActiveUserDetail,event", // Teams: the report and a teamsChat event
		"SHAREPOINTENTERPRISE":  "event",                                     // OneDrive files: an event only
		"INTUNE_A":              "",                                          // held, never used
	} {
		p := plans[name]
		if p == nil {
			t.Fatalf("no plan %s in %v", name, u["servicePlans"])
		}
		if got := sources(p["evidence"]); got != want {
			t.Errorf("%s: evidence %q, want %q", name, got, want)
		}
	}
	feats := map[string]string{}
	for _, x := range u["features"].([]any) {
		m := x.(map[string]any)
		feats[m["feature"].(string)] = sources(m["evidence"])
	}
	if feats["teamsChat"] != "event" || feats["exchangeMailbox"] != "report:getOffice365ActiveUserDetail" {
		t.Fatalf("features %v", feats)
	}
	we := u["workloadEvidence"].(map[string]any)
	if sources(we["Teams"]) != "report:getOffice365ActiveUserDetail,event" || sources(we["OneDrive"]) != "event" {
		t.Fatalf("workload evidence %v", we)
	}
}

func TestBatchWithNoAcceptedLineIs400WithItsReport(t *testing.T) {
	f := setup(t)
	at := today().Add(-24 * time.Hour).Format(time.RFC3339)
	nd := "Content-Type: application/x-ndjson"
	for _, c := range []struct{ path, body, msg string }{
		{"/allot/v1/usage/events", `{"id":"x1","user":"nobody@contoso.example","feature":"copilot","at":"` + at + `"}` + "\n" +
			`{"id":"x2","user":"ann@contoso.example","feature":"teleportation","at":"` + at + `"}`, "1 rejected, 1 naming users"},
		{"/allot/v1/usage/events", `{"value":[]}`, "no lines"},
		{"/allot/v1/signins", `{"id":"s1","user":"nobody@contoso.example","at":"` + at + `"}`, "0 rejected, 1 naming users"},
	} {
		r := f.Call("POST", c.path, f.admin, c.body, nd)
		if r.Status != 400 || !strings.Contains(r.ErrorMessage(), c.msg) {
			t.Fatalf("%s %q: %d %s, want 400 saying %q", c.path, c.body, r.Status, r.Body, c.msg)
		}
		m := r.JSON()
		if _, ok := m["rejected"]; !ok || m["accepted"].(float64) != 0 {
			t.Fatalf("%s: no per-line report in %s", c.path, r.Body)
		}
	}
	// A batch that was all taken before (a client's retry) stays 200.
	ok := `{"id":"y1","user":"ann@contoso.example","feature":"copilot","at":"` + at + `"}`
	f.Must(200, "POST", "/allot/v1/usage/events", f.admin, ok, nd)
	if again := f.Must(200, "POST", "/allot/v1/usage/events", f.admin, ok, nd).JSON(); again["duplicates"].(float64) != 1 {
		t.Fatalf("retry: %v", again)
	}
}
