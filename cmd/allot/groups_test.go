package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"allot/licensing"
	"allot/tenant"
	"allot/userprop"
)

func TestGroupsRuleTest(t *testing.T) {
	db, st, rt, tn := newOfflineTenant(t)
	ctx, tid := context.Background(), testTenantID
	var err error
	err = tn.Do(ctx, licensing.Op{Now: time.Now()}, func(tx *tenant.Tx) error {
		return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u1", UserPrincipalName: "ann@c"}.With(userprop.Department, "Sales"))
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Close(ctx)
	st.Close()

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		rootCmd.SetOut(&out)
		rootCmd.SetErr(&out)
		rootCmd.SetArgs(args)
		defer rootCmd.SetArgs(nil)
		err := rootCmd.Execute()
		return out.String(), err
	}
	out, err := run("groups", "rule-test", "--db", db, "--tenant", tid, `user.department -eq "sales"`)
	if err != nil || !strings.Contains(out, "1 user(s) match") || !strings.Contains(out, "ann@c") {
		t.Fatalf("valid rule: %v %q", err, out)
	}
	out, err = run("groups", "rule-test", "--db", db, "--tenant", tid, `user.department -eq`)
	if err != errSilent || !strings.Contains(out, "invalid rule") || !strings.Contains(out, "1:") {
		t.Fatalf("invalid rule: %v %q", err, out)
	}
}
