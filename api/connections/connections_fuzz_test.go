package connections_test

import (
	"io"
	"log/slog"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/connections"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
	"allot/m365"
)

// FuzzConnections: /allot/v1/connections and /partner/v1/connections keep
// the invariants of apitest.Fuzz.Check (no 5xx, no panic, a 4xx changes
// nothing). Connections point at an authority that does not answer, so no
// request leaves the process.
func FuzzConnections(fz *testing.F) {
	sealer, err := m365.NewSealer(make([]byte, 32))
	if err != nil {
		fz.Fatal(err)
	}
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, func(s *server.Server) {
		connections.Register(s, &m365.Manager{RT: s.RT, Env: &m365.Env{Sealer: sealer, RT: s.RT}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	})
	seeds := []apitest.Seed{
		{Method: "POST", Path: "/allot/v1/connections", Body: `{"entraTenantId":"contoso.onmicrosoft.com","clientId":"app","clientSecret":"s","graphUrl":"http://127.0.0.1:9","authorityHost":"https://127.0.0.1:9","syncEvery":"0s"}`},
		{Method: "POST", Path: "/allot/v1/connections", Body: `{"entraTenantId":"x","clientId":"y","clientSecret":"z","syncEvery":"1h","apply":true,"displayName":"d"}`},
		{Method: "POST", Path: "/allot/v1/connections", Body: `{"entraTenantId":"a/b","clientId":"","clientSecret":""}`},
		{Method: "POST", Path: "/allot/v1/connections", Body: `{"entraTenantId":"x","clientId":"y","clientCertificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","sendCertificateChain":true}`},
		{Method: "POST", Path: "/allot/v1/connections", Body: `{"entraTenantId":"x","clientId":"y","clientCertificate":"MIIKBAIBAzCCCc4GCSqGSIb3DQEHAaCCCb8Egg==","clientCertificatePassword":"p"}`},
		{Method: "GET", Path: "/allot/v1/connections"},
		{Method: "GET", Path: "/allot/v1/connections/x"},
		{Method: "DELETE", Path: "/allot/v1/connections/x"},
		{Method: "POST", Path: "/allot/v1/connections/x/test"},
		{Method: "POST", Path: "/allot/v1/connections/x/sync?wait=maybe"},
		{Method: "POST", Path: "/allot/v1/connections/x/reports?wait=true"},
		{Method: "POST", Path: "/allot/v1/connections", Body: `{"entraTenantId":"x","clientId":"y","clientSecret":"z","reportsEvery":"2h"}`},
		{Method: "GET", Path: "/allot/v1/connections/x/plan"},
		{Method: "POST", Path: "/allot/v1/connections/x/apply"},
		{Token: 1, Method: "GET", Path: "/partner/v1/connections"},
	}
	w.Surface(fz, []string{"/allot/v1/connections", "/partner/v1/connections"}, seeds, nil)
}
