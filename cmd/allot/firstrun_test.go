package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"allot/auth"
	"allot/store"
	"allot/store/sqlite"
)

// The first start on a new database creates a partner administrator and
// prints its token (which works) with the admin center's address and the
// next steps; the next start prints nothing; a database whose partner
// administrators were all revoked gets no new one, only how to make one.
func TestFirstRunPrintsAPartnerTokenOnce(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "allot.db")
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out bytes.Buffer
	if err := firstRun(ctx, st, &out, "https://127.0.0.1:8443", db, time.Now()); err != nil {
		t.Fatal(err)
	}
	secret := regexp.MustCompile(`(?m)^    (\S+)$`).FindStringSubmatch(out.String())
	if secret == nil || !strings.Contains(out.String(), "https://127.0.0.1:8443/admin/") || !strings.Contains(out.String(), "/partner/v1/customers") ||
		!strings.Contains(out.String(), "https://127.0.0.1:8443/docs/api") {
		t.Fatalf("first run printed:\n%s", out.String())
	}
	p, err := auth.NewAuthenticator(st).Authenticate(ctx, "Bearer "+secret[1])
	if err != nil || !p.IsPartner() {
		t.Fatalf("the printed token does not sign in as the partner administrator: %v", err)
	}

	out.Reset()
	if err := firstRun(ctx, st, &out, "https://127.0.0.1:8443", db, time.Now()); err != nil || out.Len() != 0 {
		t.Fatalf("second start: %v, printed %q", err, out.String())
	}

	ts, _ := st.ListTokens(ctx, store.PartnerTenant)
	if len(ts) != 1 {
		t.Fatalf("%d partner tokens", len(ts))
	}
	if err := st.RevokeToken(ctx, store.PartnerTenant, ts[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := firstRun(ctx, st, &out, "http://x", db, time.Now()); err != nil || !strings.Contains(out.String(), "allot token create --partner --db "+db) {
		t.Fatalf("all revoked: %v, printed %q", err, out.String())
	}
	if ts, _ := st.ListTokens(ctx, store.PartnerTenant); len(ts) != 1 {
		t.Fatalf("a token was created although the administrator was revoked: %d tokens", len(ts))
	}
}

// --tls-self-signed: a certificate a client can verify for localhost and
// 127.0.0.1 with the certificate as its root, whose printed fingerprint is
// the one the client sees; --tls-cert without --tls-key is refused.
func TestSelfSignedCertificate(t *testing.T) {
	cfg, fp, err := tlsOptions{selfSigned: true}.config(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()
	leaf, _ := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	for _, host := range []string{"localhost", "127.0.0.1"} {
		url := strings.Replace(srv.URL, "127.0.0.1", host, 1)
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		resp.Body.Close()
		if got := certFingerprint(resp.TLS.PeerCertificates[0].Raw); got != fp || len(fp) != 95 {
			t.Fatalf("fingerprint %s, printed %s", got, fp)
		}
	}
	if _, _, err := (tlsOptions{cert: "a.pem"}).config(time.Now()); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Fatalf("--tls-cert alone: %v", err)
	}
	if _, _, err := (tlsOptions{cert: "missing.pem", key: "missing.key"}).config(time.Now()); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("missing files: %v", err)
	}
}
