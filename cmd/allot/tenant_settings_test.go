package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store/sqlite"
	"allot/tenant"
)

func TestTenantSettingsCommandChangesSettingsAndLicenses(t *testing.T) {
	db, st, rt, tn := newOfflineTenant(t)
	ctx, tid := context.Background(), testTenantID
	var err error
	e3, _ := catalog.Default().SKU("SPE_E3")
	err = tn.Do(ctx, licensing.Op{Now: time.Now()}, func(tx *tenant.Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, e3.ID, licensing.Units{Enabled: 5}); err != nil {
			return err
		}
		if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: "g1", UserPrincipalName: "guest@c", UserType: "Guest", UsageLocation: "US"}); err != nil {
			return err
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "grp", DisplayName: "All", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "grp", []licensing.AssignedLicense{{SKUID: e3.ID}}, nil); err != nil {
			return err
		}
		return tx.Engine.AddMembers(tx.Op, "grp", []string{"g1"})
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
	out, err := run("tenant", "settings", "--db", db, "--tenant", tid, "--exclude-guests=true", "--default-usage-location", "gb")
	if err != nil || !strings.Contains(out, "excludeGuestsFromGroupLicensing  true") || !strings.Contains(out, "defaultUsageLocation             GB") {
		t.Fatalf("change: %v %q", err, out)
	}
	if _, err := run("tenant", "settings", "--db", db, "--tenant", tid, "--default-usage-location", "XYZ"); err == nil {
		t.Fatal("a bad location was accepted")
	}
	// Reopen: the change is stored and the guest lost the group license.
	st, err = sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rt, err = tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	tn, _ = rt.Get(tid)
	tn.Read(func(s *tenant.State) {
		if got := s.Engine.Settings(); !got.ExcludeGuests || got.DefaultUsageLocation != "GB" {
			t.Errorf("stored settings %+v", got)
		}
		if l, ok := s.Engine.License("g1", e3.ID); ok && l.Held {
			t.Error("the guest still holds the group license")
		}
	})
	if tn.Info().DefaultUsageLocation != "GB" {
		t.Errorf("tenant record %+v", tn.Info())
	}
}
