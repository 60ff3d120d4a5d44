package connections_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"allot/m365"
	"allot/store"
)

// A connection that signs in with the platform's workload identity stores
// nothing secret, and its test and sync get tokens for the federated token
// in the file AZURE_FEDERATED_TOKEN_FILE names; without that file the
// test says what is missing, and a workload identity given with a secret
// is refused.
func TestWorkloadIdentityCredential(t *testing.T) {
	w := newWorld(t, 0)
	federated := "eyJhbGciOiJSUzI1NiJ9.federated-token-of-the-pod.signature"
	w.tokens.federated.Store(&federated)
	body := func(extra ...any) map[string]any {
		b := map[string]any{"entraTenantId": entraID, "clientId": appID, "graphUrl": w.proxy.URL, "authorityHost": w.tokens.URL}
		for i := 0; i+1 < len(extra); i += 2 {
			b[extra[i].(string)] = extra[i+1]
		}
		return b
	}
	if r := w.local.Call("POST", "/allot/v1/connections", w.ladmin, body("workloadIdentity", true, "clientSecret", secret)); r.Status != 400 {
		t.Fatalf("workload identity and a secret: %d %s", r.Status, r.Body)
	}
	v := w.local.Must(201, "POST", "/allot/v1/connections", w.ladmin, body("workloadIdentity", true)).JSON()
	conn := v["id"].(string)
	if v["credential"] != m365.CredentialWorkloadIdentity || v["hasSecret"] != false {
		t.Fatalf("view: %v", v)
	}

	// No federated token on this platform: the test says so, changes nothing.
	t.Setenv(m365.FederatedTokenFileEnv, "")
	if r := w.local.Call("POST", "/allot/v1/connections/"+conn+"/test", w.ladmin, nil); r.Status < 400 || !strings.Contains(string(r.Body), m365.FederatedTokenFileEnv) {
		t.Fatalf("test without a token file: %d %s", r.Status, r.Body)
	}
	// A token the app registration does not trust is refused by the authority.
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("not-the-federated-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(m365.FederatedTokenFileEnv, file)
	if r := w.local.Call("POST", "/allot/v1/connections/"+conn+"/test", w.ladmin, nil); r.Status < 400 {
		t.Fatalf("test with an untrusted token: %d %s", r.Status, r.Body)
	}
	// The platform's token: test and sync sign in with it.
	file2 := filepath.Join(t.TempDir(), "token2")
	if err := os.WriteFile(file2, []byte(federated), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(m365.FederatedTokenFileEnv, file2)
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/test", w.ladmin, nil)
	w.ruser("pod.user@fabrikam.example")
	w.sync(conn)
	if w.tokens.federatedUsed.Load() == 0 {
		t.Fatal("no token was issued for the federated token")
	}
	var us struct {
		Value []struct{ UserPrincipalName string }
	}
	w.local.Must(200, "GET", "/v1.0/users?$select=userPrincipalName", w.ladmin, nil).Decode(t, &us)
	found := false
	for _, u := range us.Value {
		found = found || u.UserPrincipalName == "pod.user@fabrikam.example"
	}
	if !found {
		t.Fatalf("the sync with the workload identity read no users: %v", us.Value)
	}
	// Nothing secret stored: the connection's object has no sealed value.
	err := w.local.Store.LoadObjects(context.Background(), w.lid, func(o store.Object) error {
		if o.Kind == m365.KindConnection && strings.Contains(string(o.Body), `"secret":"`) {
			t.Errorf("stored connection holds a sealed value: %s", o.Body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
