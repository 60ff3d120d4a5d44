package web_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	chargebackapi "allot/api/chargeback"
	"allot/api/cloudlicensing"
	"allot/api/partner"
	positionapi "allot/api/position"
	"allot/web"
	"allot/web/demo"
)

// chargebackEnv is the demo behind the admin center and the position and
// chargeback APIs.
func chargebackEnv(t *testing.T) (*apitest.Env, demo.Info) {
	env := apitest.New(t, partner.Register, admin.Register, cloudlicensing.Register, positionapi.Register, chargebackapi.Register, web.Register)
	info, err := demo.Ensure(context.Background(), env.RT, env.Store, demo.Options{People: 150, SkipUsage: true})
	if err != nil {
		t.Fatal(err)
	}
	return env, info
}

var chargebackRowRE = regexp.MustCompile(`<td data-label="[^"]*"><span class="trunc" title="([^"]*)">[^<]*</span></td>\s*<td data-label="Users" class="n">([\d,]+)</td>\s*<td data-label="Seats" class="n">([\d,]+)</td>\s*<td data-label="Monthly cost" class="n" data-cost="([\d.]+)">`)

// TestChargebackPage: the page's table is the API's JSON, row for row (key,
// users, seats, cost), for each grouping; the CSV link is the API's CSV;
// the page and its menu entry are for the readers of the license usage
// (auth.ReadLicenseUsage, as the API); a bad grouping is 400 and says why;
// the trend shows the snapshots that kept the grouping.
func TestChargebackPage(t *testing.T) {
	env, info := chargebackEnv(t)
	c := newClientSignedIn(t, env, info.AdminToken)
	for _, by := range []string{"department", "companyName", "allotment", "extensionAttribute3"} {
		p := c.get("/admin/chargeback?by=" + by)
		if p.Status != http.StatusOK {
			t.Fatalf("GET /admin/chargeback?by=%s = %d\n%s", by, p.Status, p.Body)
		}
		mustContain(t, p, "<h1>Chargeback</h1>", `href="/admin/chargeback" aria-current="page"`, `href="/allot/v1/chargeback.csv?by=`+by+`"`)
		api := env.Must(200, "GET", "/allot/v1/chargeback?by="+by, info.AdminToken, nil).JSON()
		var want []string
		for _, x := range api["rows"].([]any) {
			r := x.(map[string]any)
			want = append(want, strings.Join([]string{r["key"].(string), strconv.Itoa(int(r["users"].(float64))), strconv.Itoa(int(r["seats"].(float64))),
				strconv.FormatFloat(r["monthlyCost"].(float64), 'f', 2, 64)}, "|"))
		}
		var got []string
		for _, m := range chargebackRowRE.FindAllStringSubmatch(p.Body, -1) {
			got = append(got, strings.Join([]string{html.UnescapeString(m[1]), strings.ReplaceAll(m[2], ",", ""), strings.ReplaceAll(m[3], ",", ""), m[4]}, "|"))
		}
		if len(want) < 2 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("by=%s: page rows\n%s\nAPI rows\n%s", by, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		mustContain(t, p, strconv.FormatFloat(api["monthlyCost"].(float64), 'f', 2, 64)+" "+api["currency"].(string))
		// The link downloads the API's CSV with the session.
		csv := c.get("/allot/v1/chargeback.csv?by=" + by)
		apiCSV := env.Must(200, "GET", "/allot/v1/chargeback.csv?by="+by, info.AdminToken, nil)
		if csv.Status != 200 || csv.Body != string(apiCSV.Body) {
			t.Errorf("by=%s: the CSV link = %d\n%s\nthe API's\n%s", by, csv.Status, csv.Body, apiCSV.Body)
		}
	}
	// No snapshot yet (the demo takes none without usage): the trend says so.
	mustContain(t, c.get("/admin/chargeback"), "No position snapshot has kept the cost per department yet")
	// A grouping the snapshots do not keep says how to keep it.
	mustContain(t, c.get("/admin/chargeback?by=extensionAttribute3"), "PUT /allot/v1/chargeback/settings")
	// Two snapshots: two columns, each group's cost at each.
	env.Must(201, "POST", "/allot/v1/position/snapshots", info.AdminToken, nil)
	env.Must(201, "POST", "/allot/v1/position/snapshots", info.AdminToken, nil)
	p := c.get("/admin/chargeback?by=department")
	tr := env.Must(200, "GET", "/allot/v1/chargeback/trend?by=department", info.AdminToken, nil).JSON()
	if n := len(tr["points"].([]any)); n != 2 {
		t.Fatalf("trend points %d", n)
	}
	for _, g := range tr["groups"].([]any) {
		m := g.(map[string]any)
		cost := strconv.FormatFloat(m["monthlyCost"].([]any)[1].(float64), 'f', 2, 64)
		row := `title="` + html.EscapeString(m["key"].(string)) + `">` // the key's cell, then a cell per point
		i := strings.LastIndex(p.Body, row)
		if i < 0 || !strings.Contains(p.Body[i:min(len(p.Body), i+600)], `class="n">`+cost+`</td></tr>`) {
			t.Errorf("trend row of %s lacks %s", m["key"], cost)
		}
	}
	// A bad grouping: 400 and why, no table.
	bad := c.get("/admin/chargeback?by=a,b")
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "is not a property name") || strings.Contains(bad.Body, "Download as CSV") {
		t.Errorf("by=a,b: %d\n%s", bad.Status, bad.Body)
	}
	// The Global Reader reads it; a User Administrator and a delegated
	// owner (no ReadLicenseUsage) have neither the page nor the menu entry.
	if r := newClientSignedIn(t, env, info.ReaderToken).get("/admin/chargeback"); r.Status != 200 {
		t.Errorf("reader: %d", r.Status)
	}
	for _, tok := range []string{env.Token(info.TenantID, "UserAdministrator"), info.OwnerToken} {
		o := newClientSignedIn(t, env, tok)
		if r := o.get("/admin/chargeback?by=department"); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Errorf("GET /admin/chargeback without ReadLicenseUsage = %d", r.Status)
		}
		if r := o.get("/admin/allotments"); strings.Contains(r.Body, `href="/admin/chargeback"`) {
			t.Errorf("the menu shows the chargeback without ReadLicenseUsage")
		}
	}
}
