package graphsub_test

import (
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	graphsubapi "allot/api/graphsub"
	"allot/api/partner"
)

// FuzzSubscriptions: /v1.0/subscriptions keeps the invariants of
// apitest.Fuzz.Check (no 5xx, no panic, a 4xx changes nothing). The
// notification URLs point at a port that does not answer, so a create
// fails its handshake without leaving the machine.
func FuzzSubscriptions(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, graphsubapi.Register)
	seeds := []apitest.Seed{
		{Method: "POST", Path: "/v1.0/subscriptions", Body: `{"changeType":"updated,deleted","notificationUrl":"http://127.0.0.1:9/n","resource":"users","expirationDateTime":"2099-01-01T00:00:00Z","clientState":"x"}`},
		{Method: "POST", Path: "/v1.0/subscriptions", Body: `{"changeType":"updated","notificationUrl":"https://127.0.0.1:9/n","lifecycleNotificationUrl":"ftp://x","resource":"groups/abc","expirationDateTime":"2000-01-01T00:00:00Z"}`},
		{Method: "POST", Path: "/v1.0/subscriptions", Body: `{"@odata.type":"#microsoft.graph.subscription","changeType":"","resource":"/users/","expirationDateTime":"x"}`},
		{Method: "GET", Path: "/v1.0/subscriptions"},
		{Method: "GET", Path: "/v1.0/subscriptions/00000000-0000-0000-0000-000000000000"},
		{Method: "PATCH", Path: "/v1.0/subscriptions/x", Body: `{"expirationDateTime":"2099-01-01T00:00:00Z"}`},
		{Method: "DELETE", Path: "/v1.0/subscriptions/x"},
	}
	w.Surface(fz, []string{"/v1.0/subscriptions"}, seeds, nil)
}
