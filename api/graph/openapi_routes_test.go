package graph_test

import (
	"strings"
	"testing"

	"allot/api/admin"
	alertsapi "allot/api/alerts"
	"allot/api/apitest"
	chargebackapi "allot/api/chargeback"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	positionapi "allot/api/position"
	"allot/api/scim"
	usageapi "allot/api/usage"
	"allot/web"
)

// TestOpenAPICoversEveryRegisteredRoute mounts every surface allot serve
// mounts and checks that /openapi.json has a path item and method for each
// registered route.
func TestOpenAPICoversEveryRegisteredRoute(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, scim.Register, usageapi.Register, positionapi.Register, alertsapi.Register, chargebackapi.Register, web.Register)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	e.Must(200, "GET", "/openapi.json", "", nil).Decode(t, &doc)
	for _, pat := range e.Server.Routes() {
		method, path, ok := strings.Cut(pat, " ")
		if !ok || !strings.HasPrefix(path, "/") {
			continue // method-less patterns (catch-alls) have no single operation
		}
		item := doc.Paths[path]
		if item == nil || item[strings.ToLower(method)] == nil {
			t.Errorf("/openapi.json lacks %s %s", method, path)
		}
	}
}
