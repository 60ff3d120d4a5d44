package connections_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/connections"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
	"allot/m365"
	"allot/store"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretNeverShown: the client secret is stored sealed (not in any
// stored object in clear), never in an API answer (create, list, get,
// health, a failed test or sync), never in the logs, and a wrong secret's
// refusal by the authority is reported without it.
func TestSecretNeverShown(t *testing.T) {
	w := newWorld(t, 0)
	logs := &lockedBuffer{}
	w.mgr.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.local.Server.Log = w.mgr.Log
	conn := w.connect(false)
	var bodies []string
	for _, p := range []string{"/allot/v1/connections", "/allot/v1/connections/" + conn} {
		bodies = append(bodies, string(w.local.Must(200, "GET", p, w.ladmin, nil).Body))
	}
	bodies = append(bodies, string(w.local.Must(200, "GET", "/partner/v1/connections", apitest.PartnerToken, nil).Body))
	// A second connection with a wrong secret: the token request fails.
	bad := w.local.Must(201, "POST", "/allot/v1/connections", w.ladmin, map[string]any{"entraTenantId": "other-entra", "clientId": appID,
		"clientSecret": "wrong-" + secret, "graphUrl": w.proxy.URL, "authorityHost": w.tokens.URL})
	bodies = append(bodies, string(bad.Body))
	badID := bad.JSON()["id"].(string)
	r := w.local.Call("POST", "/allot/v1/connections/"+badID+"/test", w.ladmin, nil)
	if r.Status != 502 {
		t.Fatalf("test with a wrong secret: %d %s", r.Status, r.Body)
	}
	bodies = append(bodies, string(r.Body))
	r = w.local.Call("POST", "/allot/v1/connections/"+badID+"/sync?wait=true", w.ladmin, nil)
	if r.Status != 502 {
		t.Fatalf("sync with a wrong secret: %d %s", r.Status, r.Body)
	}
	bodies = append(bodies, string(r.Body))
	view := string(w.local.Must(200, "GET", "/allot/v1/connections/"+badID, w.ladmin, nil).Body)
	if !strings.Contains(view, "lastError") {
		t.Fatalf("the failed sync is not shown: %s", view)
	}
	bodies = append(bodies, view)
	w.sync(conn)
	for i, b := range bodies {
		if strings.Contains(b, secret) || strings.Contains(b, `"secret"`) {
			t.Errorf("answer %d shows the secret: %s", i, b)
		}
	}
	if !strings.Contains(logs.String(), "Microsoft 365 sync") {
		t.Fatalf("the logs name no sync (the check below would prove nothing): %q", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the logs show the secret")
	}
	found := 0
	err := w.local.Store.LoadObjects(context.Background(), w.lid, func(o store.Object) error {
		if strings.Contains(string(o.Body), secret) {
			t.Errorf("stored object %s/%s holds the secret in clear", o.Kind, o.ID)
		}
		if o.Kind == m365.KindConnection {
			found++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != 2 {
		t.Fatalf("%d stored connections, want 2", found)
	}
}

// TestNoKeyNoSecret: without a secret key a connection is refused with a
// message that says how to configure one, and nothing is stored.
func TestNoKeyNoSecret(t *testing.T) {
	env := apitest.New(t, partner.Register, admin.Register, graph.Register, func(s *server.Server) {
		connections.Register(s, &m365.Manager{RT: s.RT, Env: &m365.Env{Sealer: &m365.Sealer{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	})
	id := env.Customer("Contoso", "US")
	tok := env.Token(id, "GlobalAdministrator")
	r := env.Call("POST", "/allot/v1/connections", tok, map[string]any{"entraTenantId": "x", "clientId": "y", "clientSecret": "z"})
	if r.Status != 400 || !strings.Contains(r.ErrorMessage(), m365.KeyEnv) {
		t.Fatalf("create without a key: %d %s", r.Status, r.Body)
	}
	if got := env.Must(200, "GET", "/allot/v1/connections", tok, nil).JSON()["value"].([]any); len(got) != 0 {
		t.Fatalf("a refused connection was stored: %v", got)
	}
}

// TestConnectionRoles: who may do what (auth.Can), bad input, delete.
func TestConnectionRoles(t *testing.T) {
	w := newWorld(t, 0)
	reader := w.local.Token(w.lid, "GlobalReader")
	lic := w.local.Token(w.lid, "LicenseAdministrator")
	body := map[string]any{"entraTenantId": entraID, "clientId": appID, "clientSecret": secret, "graphUrl": w.proxy.URL, "authorityHost": w.tokens.URL}
	if r := w.local.Call("POST", "/allot/v1/connections", reader, body); r.Status != 403 {
		t.Fatalf("a Global Reader created a connection: %d", r.Status)
	}
	if r := w.local.Call("POST", "/allot/v1/connections", lic, body); r.Status != 403 {
		t.Fatalf("a License Administrator created a connection: %d", r.Status)
	}
	for _, bad := range []map[string]any{
		{"entraTenantId": "", "clientId": appID, "clientSecret": "x"},
		{"entraTenantId": "a/b", "clientId": appID, "clientSecret": "x"},
		{"entraTenantId": "a", "clientId": appID, "clientSecret": "x", "graphUrl": "ftp://x"},
		{"entraTenantId": "a", "clientId": appID, "clientSecret": "x", "authorityHost": "https://h/?q=1"},
		{"entraTenantId": "a", "clientId": appID, "clientSecret": "x", "syncEvery": "5s"},
		{"entraTenantId": "a", "clientId": appID, "clientSecret": "x", "syncEvery": "soon"},
		{"entraTenantId": "a", "clientId": appID, "clientSecret": "x", "unknown": 1},
	} {
		if r := w.local.Call("POST", "/allot/v1/connections", w.ladmin, bad); r.Status != 400 {
			t.Errorf("%v: %d %s", bad, r.Status, r.Body)
		}
	}
	conn := w.connect(false)
	if r := w.local.Call("POST", "/allot/v1/connections", w.ladmin, body); r.Status != 409 {
		t.Fatalf("a second connection to the same Entra tenant: %d %s", r.Status, r.Body)
	}
	w.local.Must(200, "GET", "/allot/v1/connections", reader, nil)
	if r := w.local.Call("POST", "/allot/v1/connections/"+conn+"/sync", reader, nil); r.Status != 403 {
		t.Fatalf("a Global Reader started a sync: %d", r.Status)
	}
	if r := w.local.Call("GET", "/partner/v1/connections", w.ladmin, nil); r.Status != 403 {
		t.Fatalf("a tenant administrator read the partner's view: %d", r.Status)
	}
	// Apply needs a connection that allows it.
	w.ruser("zed@fabrikam.example")
	w.sync(conn)
	if r := w.local.Call("POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil); r.Status != 403 {
		t.Fatalf("apply on a read-only connection: %d %s", r.Status, r.Body)
	}
	h := w.local.Must(200, "GET", "/partner/v1/connections", apitest.PartnerToken, nil).JSON()["value"].([]any)
	if len(h) != 1 || h[0].(map[string]any)["sync"].(map[string]any)["lastSuccessDateTime"] == nil {
		t.Fatalf("partner view: %v", h)
	}
	w.local.Must(204, "DELETE", "/allot/v1/connections/"+conn, w.ladmin, nil)
	w.local.Must(404, "GET", "/allot/v1/connections/"+conn, w.ladmin, nil)
	// The synced users stay, now allot's own (no longer read-only).
	var us struct{ Value []struct{ ID string } }
	w.local.Must(200, "GET", "/v1.0/users?$select=id", w.ladmin, nil).Decode(t, &us)
	if len(us.Value) == 0 {
		t.Fatal("no users after the sync")
	}
	w.local.Must(204, "PATCH", "/v1.0/users/"+us.Value[0].ID, w.ladmin, map[string]any{"department": "Ops"})
}
