package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store/sqlite"
	"allot/tenant"
)

// allot whatif FILE prints the difference and changes nothing.
func TestWhatIfCommandPrintsTheDifference(t *testing.T) {
	db, st, rt, tn := newOfflineTenant(t)
	ctx := context.Background()
	e3, _ := catalog.Default().SKU("SPE_E3")
	err := tn.Do(ctx, licensing.Op{Now: time.Now()}, func(tx *tenant.Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, e3.ID, licensing.Units{Enabled: 1, Status: "Enabled"}); err != nil {
			return err
		}
		for _, id := range []string{"ann", "bob"} {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id + "@c.example", UsageLocation: "US", AccountEnabled: true}); err != nil {
				return err
			}
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g", DisplayName: "G", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AddMembers(tx.Op, "g", []string{"ann", "bob"}); err != nil {
			return err
		}
		return tx.Engine.AssignGroupLicenses(tx.Op, "g", []licensing.AssignedLicense{{SKUID: e3.ID}}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Close(ctx)
	st.Close()
	file := filepath.Join(t.TempDir(), "cmds.json")
	os.WriteFile(file, []byte(`{"commands":[{"op":"changeUnits","sku":"SPE_E3","by":1},{"op":"setMembershipRule","groupId":"g","membershipRule":"user.userPrincipalName -eq \"bob@c.example\""}]}`), 0o644)
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs([]string{"whatif", "--db", db, "--tenant", testTenantID, file})
	defer rootCmd.SetArgs(nil)
	if err := rootCmd.Execute(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	// One more unit seats bob (waiting); the rule then drops ann.
	s := out.String()
	for _, want := range []string{"Lose a license: 1", "ann@c.example SPE_E3", "1 user stop waiting", "SPE_E3", "1 → 2"} {
		if !strings.Contains(s, want) {
			t.Fatalf("output lacks %q:\n%s", want, s)
		}
	}
	st2, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	rt2, err := tenant.Open(ctx, st2, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.Close(ctx)
	tn2, _ := rt2.Get(testTenantID)
	tn2.Read(func(s *tenant.State) {
		if p, _ := s.Engine.Pool(e3.ID); p.Units.Enabled != 1 {
			t.Fatalf("the what-if changed the tenant: %+v", p.Units)
		}
	})
}
