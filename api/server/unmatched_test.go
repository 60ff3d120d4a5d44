package server_test

import (
	"net/http"
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/scim"
	usageapi "allot/api/usage"
)

// A request that no route takes is answered in the API's error shape, not
// with the mux's plain-text "404 page not found": Graph's 400 for an unknown
// segment under /v1.0 and /beta, 404 Request_ResourceNotFound under allot's
// own APIs, 405 with Allow for a known path and another method, SCIM's
// error schema under /scim/v2.
func TestUnknownRoutesAnswerInTheAPIErrorShape(t *testing.T) {
	c := apitest.NewContoso(t, partner.Register, admin.Register, graph.Register, cloudlicensing.Register, usageapi.Register, scim.Register)
	e, id, ga := c.Env, c.ID, c.Admin
	for _, c := range []struct {
		method, path, token string
		status              int
		code, message       string
	}{
		{"GET", "/beta/noSuchThing", ga, 400, "BadRequest", "Resource not found for the segment 'noSuchThing'."},
		{"GET", "/beta/admin/cloudLicensing/noSuchThing", ga, 400, "BadRequest", "Resource not found for the segment 'noSuchThing'."},
		{"GET", "/v1.0/noSuchThing", ga, 400, "BadRequest", "Resource not found for the segment 'noSuchThing'."},
		{"GET", "/partner/v1/noSuchThing", apitest.PartnerToken, 404, "Request_ResourceNotFound", "Resource not found for the segment 'noSuchThing'."},
		{"GET", "/partner/v1/customers/" + id + "/noSuchThing", apitest.PartnerToken, 404, "Request_ResourceNotFound", "Resource not found for the segment 'noSuchThing'."},
		{"GET", "/allot/v1/noSuchThing", ga, 404, "Request_ResourceNotFound", "Resource not found for the segment 'noSuchThing'."},
		{"GET", "/allot/v1/usage/noSuchThing", ga, 404, "Request_ResourceNotFound", "Resource not found for the segment 'noSuchThing'."},
		{"GET", "/no/such/route", "", 404, "Request_ResourceNotFound", "Resource not found for the segment 'no'."},
		{"PUT", "/partner/v1/customers", apitest.PartnerToken, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"DELETE", "/allot/v1/audit", ga, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
	} {
		r := e.Call(c.method, c.path, c.token, nil)
		if r.Status != c.status || r.ErrorCode() != c.code || r.ErrorMessage() != c.message ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d %s %q (%s), want %d %s %q", c.method, c.path, r.Status, r.ErrorCode(), r.ErrorMessage(),
				r.Header.Get("Content-Type"), c.status, c.code, c.message)
		}
		if c.status == http.StatusMethodNotAllowed && r.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
	// SCIM keeps its own error schema.
	r := e.Call("GET", "/scim/v2/NoSuchThing", ga, nil)
	var body struct {
		Schemas []string `json:"schemas"`
		Status  string   `json:"status"`
	}
	r.Decode(t, &body)
	if r.Status != 404 || len(body.Schemas) != 1 || body.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || body.Status != "404" {
		t.Errorf("GET /scim/v2/NoSuchThing: %d %s", r.Status, r.Body)
	}
}
