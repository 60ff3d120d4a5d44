package web_test

import (
	"net/http"
	"testing"

	"allot/alert"
	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/position"
	"allot/api/server"
	"allot/m365"
	"allot/reclamation"
	"allot/store"
	"allot/web"
)

// FuzzWeb: the admin center's pages and forms keep the invariants of
// apitest.Fuzz.Check, signed in (with the form's CSRF token) as each role.
func FuzzWeb(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register,
		func(s *server.Server) {
			alerts := alert.New(alert.Config{Store: s.Store.(store.AlertStore)})
			alerts.Attach(s.RT)
			rs := reclamation.New(reclamation.Config{Alerts: alerts, Key: reclaimKey, BaseURL: "https://allot.test"})
			rs.Attach(s.RT)
			web.Mount(web.Options{M365: &m365.Manager{RT: s.RT, Env: &m365.Env{RT: s.RT}}, Reclamation: rs})(s)
		},
		func(s *server.Server) { positionapi.Mount(s, positionapi.Options{}) })
	type session struct {
		cookies []*http.Cookie
		csrf    string
	}
	var sessions []session
	for tok := range uint8(4) { // Admin, partner, reader, owner; 4 is signed out
		c, csrf := w.WebSession(fz, w.Token(tok))
		sessions = append(sessions, session{c, csrf})
	}
	const e3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"
	const f = apitest.CTForm
	seeds := []apitest.Seed{
		{Method: "GET", Path: "/admin/"},
		{Method: "GET", Path: "/admin/users?q=user&sort=name"},
		{Method: "GET", Path: "/admin/users/{user0}"},
		{Method: "POST", Path: "/admin/users/{user2}/licenses", CT: f, Body: "sku=" + e3},
		{Method: "POST", Path: "/admin/users/{user0}/licenses/remove", CT: f, Body: "sku=" + e3},
		{Method: "GET", Path: "/admin/groups/{group0}"},
		{Method: "POST", Path: "/admin/groups/{group1}/licenses", CT: f, Body: "sku=" + e3},
		{Method: "POST", Path: "/admin/groups/{group0}/licenses/remove", CT: f, Body: "sku=" + e3},
		{Method: "POST", Path: "/admin/groups/{group0}/mode", CT: f, Body: "mode=allOrNone"},
		{Method: "POST", Path: "/admin/groups/{group1}/rule", CT: f, Body: "rule=user.department+-eq+%22Sales%22&state=On"},
		{Method: "POST", Path: "/admin/rules/validate", CT: f, Body: "rule=user.city+-eq+%22x%22"},
		{Method: "GET", Path: "/admin/allotments/{allotment}", Token: 3},
		{Method: "POST", Path: "/admin/allotments/{allotment}/units", CT: f, Body: "units=3"},
		{Method: "POST", Path: "/admin/allotments/{allotment}/assignments", CT: f, Token: 3, Body: "kind=user&target=user2%40contoso.example"},
		{Method: "POST", Path: "/admin/allotments/{allotment}/assignments/remove", CT: f, Body: "assignment=x"},
		{Method: "GET", Path: "/admin/products/" + e3},
		{Method: "GET", Path: "/admin/errors"},
		{Method: "GET", Path: "/admin/connections"},
		{Method: "POST", Path: "/admin/connections/x/sync", CT: f},
		{Method: "POST", Path: "/admin/connections/x/test", CT: f},
		{Method: "GET", Path: "/admin/connections/x/plan"},
		{Method: "POST", Path: "/admin/connections/x/apply", CT: f, Body: "plan=0123456789abcdef"},
		{Method: "GET", Path: "/admin/waiting"},
		{Method: "GET", Path: "/admin/chargeback?by=department"},
		{Method: "GET", Path: "/admin/chargeback?by=allotment"},
		{Method: "GET", Path: "/admin/audit?user={user0}"},
		{Method: "GET", Path: "/admin/tenants", Token: 1},
		{Method: "POST", Path: "/admin/tenants", CT: f, Token: 1, Body: "tenant={tenant}"},
		{Method: "GET", Path: "/admin/signin", Token: 4},
		{Method: "GET", Path: "/admin/users/new"},
		{Method: "POST", Path: "/admin/users", CT: f, Body: "displayName=Zoe&userPrincipalName=zoe%40contoso.example&mailNickname=zoe&accountEnabled=on"},
		{Method: "POST", Path: "/admin/users/{user0}/edit", CT: f, Body: "displayName=Zed&usageLocation=DE"},
		{Method: "POST", Path: "/admin/groups", CT: f, Body: "displayName=G&mailNickname=g&membership=dynamic&membershipRule=user.city+-eq+%22x%22"},
		{Method: "POST", Path: "/admin/groups/{group0}/edit", CT: f, Body: "displayName=G2&mailNickname=g2"},
		{Method: "POST", Path: "/admin/groups/{group0}/members", CT: f, Body: "member={user1}"},
		{Method: "POST", Path: "/admin/groups/{group0}/members/remove", CT: f, Body: "member={user1}"},
		{Method: "POST", Path: "/admin/allotments", CT: f, Body: "displayName=A&skuId=" + e3 + "&allottedUnits=2&owners=Ann%0ABob"},
		{Method: "POST", Path: "/admin/allotments/{allotment}/edit", CT: f, Body: "displayName=A&allottedUnits=-1&owners=x"},
		{Method: "GET", Path: "/admin/tokens"},
		{Method: "POST", Path: "/admin/tokens", CT: f, Body: "displayName=t&roles=GlobalReader"},
		{Method: "POST", Path: "/admin/tokens/x/revoke", CT: f},
		{Method: "GET", Path: "/admin/subscriptions", Token: 1},
		{Method: "POST", Path: "/admin/subscriptions", CT: f, Token: 1, Body: "offerId=SPE_E3&quantity=5"},
		{Method: "POST", Path: "/admin/subscriptions/x", CT: f, Token: 1, Body: "quantity=0&status=active"},
		{Method: "POST", Path: "/admin/whatif", CT: f, Body: "op=setSettings&defaultUsageLocation=US"},
		{Method: "POST", Path: "/admin/whatif", CT: f, Body: "op=putAllotment&allotment={allotment}&allottedUnits=9"},
		{Method: "POST", Path: "/admin/whatif", CT: f, Body: "op=setUserLicenses&user={user0}&sku=" + e3},
		{Method: "GET", Path: "/allot/v1/position.html"},
		{Method: "GET", Path: "/admin/reclamation"},
		{Method: "POST", Path: "/admin/reclamation", CT: f, Body: "id=c1&displayName=Idle&kind=idle&kind=neverActivated&sku=" + e3 + "&graceDays=7&reminderDaysBefore=2&requireApproval=on&action=remove"},
		{Method: "POST", Path: "/admin/reclamation", CT: f, Body: "id=c2&action=downgrade&downgradeTo=" + e3 + "&notifyManager=on&managerAttribute=manager&graceDays=x"},
		{Method: "GET", Path: "/admin/reclamation/c1?state=pending&offset=100"},
		{Method: "POST", Path: "/admin/reclamation/c1/start", CT: f},
		{Method: "POST", Path: "/admin/reclamation/c1/approve", CT: f},
		{Method: "POST", Path: "/admin/reclamation/c1/cancel", CT: f},
		{Method: "POST", Path: "/admin/reclamation/c1/restore", CT: f},
		{Method: "GET", Path: "/admin/schedules"},
		{Method: "POST", Path: "/admin/schedules", CT: f, Body: "id=w&report=position-html&frequency=weekly&weekday=monday&at=07%3A30&timeZone=Europe%2FBerlin&to=a%40contoso.example"},
		{Method: "POST", Path: "/admin/schedules", CT: f, Body: "id=m&report=chargeback-csv&by=department&frequency=monthly&day=1&at=06%3A00&to=a%40contoso.example"},
		{Method: "POST", Path: "/admin/schedules/w/delete", CT: f},
	}
	w.Surface(fz, []string{"/admin/", "/allot/v1/position."}, seeds, func(r *apitest.Request, tok uint8) {
		// The admin center signs in with cookies, not bearer tokens.
		r.Header.Del("Authorization")
		r.Header.Del("X-Allot-Tenant")
		if s := int(tok) % 5; s < len(sessions) {
			for _, c := range sessions[s].cookies {
				r.Header.Add("Cookie", c.Name+"="+c.Value)
			}
			if r.Method != "GET" && r.Method != "HEAD" {
				r.Header.Set("X-CSRF-Token", sessions[s].csrf)
			}
		}
	})
}
