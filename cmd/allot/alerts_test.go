package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAlertsCommands(t *testing.T) {
	db, st, rt, _ := newOfflineTenant(t)
	rt.Close(context.Background())
	st.Close()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out, err := runAllot(t, "alerts", "endpoints", "put", "--db", db, "--tenant", testTenantID, write("ep.json", `{"id":"ops","type":"webhook","url":"https://hooks.contoso.example/allot"}`))
	if err != nil || !strings.Contains(out, "secret (shown once") || !strings.Contains(out, "whsec_") {
		t.Fatalf("endpoint put: %v %q", err, out)
	}
	if _, err := runAllot(t, "alerts", "rules", "put", "--db", db, "--tenant", testTenantID, write("bad.json", `{"id":"r","condition":"licenseErrors","endpoints":["nope"]}`)); err == nil {
		t.Fatal("a rule naming a missing endpoint was stored")
	}
	if _, err := runAllot(t, "alerts", "rules", "put", "--db", db, "--tenant", testTenantID, write("bad2.json", `{"id":"r","condition":"licenseErrors","endpoints":["ops"],"unknown":1}`)); err == nil {
		t.Fatal("an unknown property was accepted")
	}
	if out, err = runAllot(t, "alerts", "rules", "put", "--db", db, "--tenant", testTenantID, write("r.json", `{"id":"errs","displayName":"Errors","condition":"licenseErrors","errors":["MutuallyExclusiveViolation"],"endpoints":["ops"]}`)); err != nil {
		t.Fatalf("rule put: %v %q", err, out)
	}
	out, err = runAllot(t, "alerts", "rules", "list", "--db", db, "--tenant", testTenantID)
	if err != nil || !strings.Contains(out, "errs") || !strings.Contains(out, "licenseErrors") {
		t.Fatalf("rules list: %v %q", err, out)
	}
	out, err = runAllot(t, "alerts", "endpoints", "list", "--db", db, "--tenant", testTenantID, "--json")
	if err != nil || strings.Contains(out, "whsec_") || !strings.Contains(out, `"ops"`) {
		t.Fatalf("endpoints list shows the secret or not the endpoint: %v %q", err, out)
	}
	if _, err := runAllot(t, "alerts", "endpoints", "delete", "--db", db, "--tenant", testTenantID, "ops"); err == nil {
		t.Fatal("an endpoint a rule sends to was deleted")
	}
	if _, err := runAllot(t, "alerts", "rules", "delete", "--db", db, "--tenant", testTenantID, "errs"); err != nil {
		t.Fatal(err)
	}
	if out, err = runAllot(t, "alerts", "jobs", "--db", db, "--tenant", testTenantID, "--state", "dead"); err != nil || !strings.Contains(out, "JOB") {
		t.Fatalf("jobs: %v %q", err, out)
	}
	if _, err = runAllot(t, "alerts", "jobs", "--db", db, "--tenant", testTenantID, "--state", "lost"); err == nil {
		t.Fatal("a bad state was accepted")
	}
}
