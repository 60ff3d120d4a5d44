package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot/licensing"
	"allot/tenant"
)

// allot import concealed-names maps concealed report names (CSV or the
// API's JSON body); a concealed report imported before the mapping is not
// recorded and says what to do, and imports once the mapping exists,
// without --force.
func TestImportConcealedNamesThenTheReport(t *testing.T) {
	db, st, rt, tn := newOfflineTenant(t)
	ctx := context.Background()
	err := tn.Do(ctx, licensing.Op{Now: time.Now()}, func(tx *tenant.Tx) error {
		return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u1", UserPrincipalName: "ann@c.example", UsageLocation: "US", AccountEnabled: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Close(ctx)
	st.Close()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		rootCmd.SetOut(&out)
		rootCmd.SetErr(&out)
		rootCmd.SetArgs(args)
		defer rootCmd.SetArgs(nil)
		err := rootCmd.Execute()
		return out.String(), err
	}
	const hash = "0123456789ABCDEF0123456789ABCDEF"
	day := time.Now().UTC().Add(-24 * time.Hour).Format(time.DateOnly)
	report := write("email.csv", "Report Refresh Date,User Principal Name,Last Activity Date,Send Count,Receive Count,Read Count,Report Period\n"+
		day+","+hash+","+day+",1,2,3,7\n")
	out, err := run("import", "usage", "--db", db, "--tenant", testTenantID, report)
	if err != nil || !strings.Contains(out, "0 accepted") || !strings.Contains(out, "allot import concealed-names --tenant ID FILE") {
		t.Fatalf("concealed report without a mapping: %v %q", err, out)
	}
	if out, err := run("import", "concealed-names", "--db", db, "--tenant", testTenantID, write("bad.csv", "hash,userPrincipalName\nxyz,ann@c.example\n")); err == nil {
		t.Fatalf("a bad hash was accepted: %q", out)
	}
	out, err = run("import", "concealed-names", "--db", db, "--tenant", testTenantID, write("names.csv", "hash,userPrincipalName\n"+hash+",ann@c.example\n"))
	if err != nil || !strings.Contains(out, "1 concealed name mapped") {
		t.Fatalf("mapping: %v %q", err, out)
	}
	out, err = run("import", "concealed-names", "--db", db, "--tenant", testTenantID, write("names.json", `{"value":[{"hash":"`+hash+`","userPrincipalName":"ann@c.example"}]}`))
	if err != nil || !strings.Contains(out, "1 concealed name mapped") {
		t.Fatalf("mapping (JSON): %v %q", err, out)
	}
	out, err = run("import", "usage", "--db", db, "--tenant", testTenantID, report)
	if err != nil || !strings.Contains(out, "1 accepted") {
		t.Fatalf("the same report after the mapping: %v %q", err, out)
	}
}
