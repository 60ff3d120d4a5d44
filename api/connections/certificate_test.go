package connections_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"allot/m365"
	"allot/store"
)

// testCert is a self-signed certificate with its key: the certificate,
// the PEM of both, and the base64 of the key's DER (to look for it).
type testCert struct {
	cert   *x509.Certificate
	pem    string
	keyB64 string
}

func newTestCert(t *testing.T, cn string) testCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder := x509.MarshalPKCS1PrivateKey(key)
	p := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: kder}))
	pk8, _ := x509.MarshalPKCS8PrivateKey(key)
	return testCert{cert: cert, pem: p, keyB64: base64.StdEncoding.EncodeToString(pk8)}
}

func thumbprint(c *x509.Certificate) string {
	s := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

// TestCertificateCredential: a connection signs in with a certificate
// (azidentity's ClientCertificateCredential: a client assertion the
// authority checks against the app registration's certificates) — PEM or
// a password-protected .pfx; the key is sealed like a secret and never
// shown or stored in clear; only the certificate's public part is shown;
// a certificate the app registration does not hold is refused by the
// authority (502 with its message); bad certificates are refused 400 and
// nothing is stored.
func TestCertificateCredential(t *testing.T) {
	w := newWorld(t, 0)
	good := newTestCert(t, "allot-m365-good")
	w.tokens.register(good.cert)
	pfx, err := os.ReadFile("testdata/app-3des.pfx")
	if err != nil {
		t.Fatal(err)
	}
	pfxCerts, _, err := azidentity.ParseCertificates(pfx, []byte("pfx-pass"))
	if err != nil {
		t.Fatal(err)
	}
	w.tokens.register(pfxCerts[0])

	body := func(extra ...any) map[string]any {
		b := map[string]any{"entraTenantId": entraID, "clientId": appID, "graphUrl": w.proxy.URL, "authorityHost": w.tokens.URL}
		for i := 0; i+1 < len(extra); i += 2 {
			b[extra[i].(string)] = extra[i+1]
		}
		return b
	}
	// Refused, nothing stored.
	aes, _ := os.ReadFile("testdata/app-aes.pfx")
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	ecTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	ecCert, _ := x509.CreateCertificate(rand.Reader, ecTmpl, ecTmpl, &ec.PublicKey, ec)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ecCert})) + string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	other := newTestCert(t, "other")
	certOnly := good.pem[:strings.Index(good.pem, "-----BEGIN RSA")]
	mismatched := certOnly + other.pem[strings.Index(other.pem, "-----BEGIN RSA"):]
	for name, b := range map[string]map[string]any{
		"secret and certificate": body("clientSecret", secret, "clientCertificate", good.pem),
		"password without cert":  body("clientSecret", secret, "clientCertificatePassword", "x"),
		"not base64":             body("clientCertificate", "not a certificate!"),
		"garbage pfx":            body("clientCertificate", base64.StdEncoding.EncodeToString([]byte("garbage"))),
		"wrong pfx password":     body("clientCertificate", base64.StdEncoding.EncodeToString(pfx), "clientCertificatePassword", "wrong"),
		"aes pfx":                body("clientCertificate", base64.StdEncoding.EncodeToString(aes), "clientCertificatePassword", "pfx-pass"),
		"no key":                 body("clientCertificate", certOnly),
		"key of another cert":    body("clientCertificate", mismatched),
		"ec key":                 body("clientCertificate", ecPEM),
		"too long":               body("clientCertificate", strings.Repeat("A", 40<<10)),
	} {
		if r := w.local.Call("POST", "/allot/v1/connections", w.ladmin, b); r.Status != 400 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if got := w.local.Must(200, "GET", "/allot/v1/connections", w.ladmin, nil).JSON()["value"].([]any); len(got) != 0 {
		t.Fatalf("a refused connection was stored: %v", got)
	}

	// PEM: test and sync sign in with a client assertion.
	r := w.local.Must(201, "POST", "/allot/v1/connections", w.ladmin, body("clientCertificate", good.pem, "displayName", "cert"))
	v := r.JSON()
	conn := v["id"].(string)
	if v["credential"] != "certificate" || v["hasSecret"] != true {
		t.Fatalf("view: %s", r.Body)
	}
	ci := v["certificate"].(map[string]any)
	if ci["thumbprint"] != thumbprint(good.cert) || ci["subject"] != "CN=allot-m365-good" || ci["notAfterDateTime"] == nil {
		t.Fatalf("certificate shown: %v (thumbprint %s)", ci, thumbprint(good.cert))
	}
	bodies := []string{string(r.Body)}
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/test", w.ladmin, nil)
	w.ruser("cert.user@fabrikam.example")
	w.sync(conn)
	if w.tokens.assertions.Load() == 0 {
		t.Fatal("no token was issued for a client assertion")
	}
	var us struct {
		Value []struct{ UserPrincipalName string }
	}
	w.local.Must(200, "GET", "/v1.0/users?$select=userPrincipalName", w.ladmin, nil).Decode(t, &us)
	found := false
	for _, u := range us.Value {
		found = found || u.UserPrincipalName == "cert.user@fabrikam.example"
	}
	if !found {
		t.Fatalf("the sync with a certificate read no users: %v", us.Value)
	}
	for _, p := range []string{"/allot/v1/connections", "/allot/v1/connections/" + conn} {
		bodies = append(bodies, string(w.local.Must(200, "GET", p, w.ladmin, nil).Body))
	}
	keyLine := good.keyB64[:64]
	pemKeyLine := strings.Split(good.pem[strings.Index(good.pem, "-----BEGIN RSA"):], "\n")[1]
	for i, b := range bodies {
		if strings.Contains(b, "PRIVATE KEY") || strings.Contains(b, keyLine) || strings.Contains(b, pemKeyLine) {
			t.Errorf("answer %d shows the private key: %s", i, b)
		}
	}
	err = w.local.Store.LoadObjects(context.Background(), w.lid, func(o store.Object) error {
		if strings.Contains(string(o.Body), "PRIVATE KEY") || strings.Contains(string(o.Body), keyLine) || strings.Contains(string(o.Body), pemKeyLine) {
			t.Errorf("stored object %s/%s holds the private key in clear", o.Kind, o.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A .pfx with its password, sending the chain.
	w.local.Must(204, "DELETE", "/allot/v1/connections/"+conn, w.ladmin, nil)
	before := w.tokens.assertions.Load()
	v = w.local.Must(201, "POST", "/allot/v1/connections", w.ladmin, body("clientCertificate", base64.StdEncoding.EncodeToString(pfx),
		"clientCertificatePassword", "pfx-pass", "sendCertificateChain", true)).JSON()
	conn = v["id"].(string)
	if v["certificate"].(map[string]any)["thumbprint"] != thumbprint(pfxCerts[0]) {
		t.Fatalf("pfx certificate shown: %v", v["certificate"])
	}
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/test", w.ladmin, nil)
	if w.tokens.assertions.Load() == before {
		t.Fatal("the .pfx connection got no token by assertion")
	}

	// A certificate the app registration does not hold: the authority's refusal.
	w.local.Must(204, "DELETE", "/allot/v1/connections/"+conn, w.ladmin, nil)
	conn = w.local.Must(201, "POST", "/allot/v1/connections", w.ladmin, body("clientCertificate", other.pem)).JSON()["id"].(string)
	r = w.local.Call("POST", "/allot/v1/connections/"+conn+"/test", w.ladmin, nil)
	if r.Status != 502 || !strings.Contains(r.ErrorMessage(), "AADSTS700027") {
		t.Fatalf("test with an unregistered certificate: %d %s", r.Status, r.Body)
	}
}

// TestOldConnectionIsSecret: a connection stored before certificates (no
// credential field) is a client secret and still signs in.
func TestOldConnectionIsSecret(t *testing.T) {
	w := newWorld(t, 0)
	conn := w.connect(false)
	v := w.local.Must(200, "GET", "/allot/v1/connections/"+conn, w.ladmin, nil).JSON()
	if v["credential"] != "clientSecret" || v["certificate"] != nil {
		t.Fatalf("view: %v", v)
	}
	var c m365.Connection
	if err := json.Unmarshal([]byte(`{"id":"x","entraTenantId":"e","clientId":"c","secret":"AAAA"}`), &c); err != nil {
		t.Fatal(err)
	}
	if got := c.View("t", m365.SyncState{}).Credential; got != m365.CredentialSecret {
		t.Fatalf("an old connection's credential: %q", got)
	}
}
