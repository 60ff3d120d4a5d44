package scim_test

import (
	"path/filepath"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/api/scim"
	"allot/store/sqlite"
)

// What SCIM keeps beside the engine (a group's externalId, lastModified)
// is persisted with the change and comes back after a restart.
func TestSCIMDataSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	start := func() (*apitest.Env, func()) {
		st, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		e := apitest.Serve(t, st, apitest.Options{}, partner.Register, admin.Register, scim.Register)
		return e, func() { e.Stop(); st.Close() }
	}
	e, stop := start()
	tid := e.Customer("Contoso", "US")
	tok := e.Token(tid, "GlobalAdministrator")
	g := e.Must(201, "POST", "/scim/v2/Groups", tok, map[string]any{"displayName": "G", "externalId": "ext-g"}).JSON()
	e.Must(204, "PATCH", "/scim/v2/Groups/"+g["id"].(string), tok, `{"Operations":[{"op":"replace","path":"displayName","value":"H"}]}`)
	before := e.Must(200, "GET", "/scim/v2/Groups/"+g["id"].(string), tok, nil)
	stop()

	e, stop = start()
	defer stop()
	after := e.Must(200, "GET", "/scim/v2/Groups/"+g["id"].(string), tok, nil)
	a, b := after.JSON(), before.JSON()
	if a["externalId"] != "ext-g" || a["displayName"] != "H" || after.Header.Get("ETag") != before.Header.Get("ETag") ||
		a["meta"].(map[string]any)["lastModified"] != b["meta"].(map[string]any)["lastModified"] {
		t.Fatalf("after restart %v (before %v)", a, b)
	}
	found := e.Must(200, "GET", "/scim/v2/Groups?filter=externalId+eq+%22ext-g%22", tok, nil).JSON()
	if found["totalResults"] != float64(1) {
		t.Fatalf("externalId lookup after restart: %v", found)
	}
}
