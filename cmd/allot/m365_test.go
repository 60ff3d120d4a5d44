package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestM365ConnectCertificate: allot m365 connect takes a .pfx (its
// password from the environment) and list shows its thumbprint, never the
// key; a wrong password is refused and nothing is stored.
func TestM365ConnectCertificate(t *testing.T) {
	db, st, rt, _ := newOfflineTenant(t)
	rt.Close(context.Background())
	st.Close()
	t.Setenv("ALLOT_SECRET_KEY", strings.Repeat("ab", 32))
	t.Setenv("ALLOT_M365_CLIENT_SECRET", "")
	pfx := "../../api/connections/testdata/app-3des.pfx"
	if _, err := os.Stat(pfx); err != nil {
		t.Fatal(err)
	}
	args := []string{"m365", "connect", "--db", db, "--tenant", testTenantID, "--entra-tenant", "contoso.onmicrosoft.com",
		"--client-id", "0f1e2d3c-0000-4000-8000-000000000001", "--client-certificate-file", pfx}
	t.Setenv("ALLOT_M365_CERTIFICATE_PASSWORD", "wrong")
	if out, err := runAllot(t, args...); err == nil || !strings.Contains(err.Error(), "clientCertificatePassword") {
		t.Fatalf("connect with a wrong .pfx password: %v\n%s", err, out)
	}
	t.Setenv("ALLOT_M365_CERTIFICATE_PASSWORD", "pfx-pass")
	if out, err := runAllot(t, args...); err != nil || !strings.Contains(out, "certificate 3AAE274CC21C660BC4FE72C87050BF71CFD59813") {
		t.Fatalf("connect with a .pfx: %v\n%s", err, out)
	}
	out, err := runAllot(t, "m365", "list", "--db", db, "--tenant", testTenantID, "--json")
	if err != nil || strings.Count(out, `"id"`) != 1 || !strings.Contains(out, `"credential":"certificate"`) || strings.Contains(out, "PRIVATE KEY") {
		t.Fatalf("list: %v\n%s", err, out)
	}
}
