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
	"allot/licensing"
	"allot/subscription"
	"allot/tenant"
)

func TestExportTenantWritesSubscriptionStatusAndDates(t *testing.T) {
	db, st, rt, tn := newOfflineTenant(t)
	ctx, tid := context.Background(), testTenantID
	var err error
	e3, _ := catalog.Default().SKU("SPE_E3")
	grace := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	err = tn.Do(ctx, licensing.Op{Now: time.Now()}, func(tx *tenant.Tx) error {
		return subscription.Put(tx, subscription.Subscription{ID: "s1", SKUID: e3.ID, SKUPartNumber: "SPE_E3", Quantity: 5,
			Status: subscription.StatusExpired, CreationDate: grace.AddDate(-1, 0, 0), GraceEndDate: &grace})
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Close(ctx)
	st.Close()

	dir := filepath.Join(t.TempDir(), "bundle")
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs([]string{"export", "tenant", "--db", db, "--tenant", tid, dir})
	defer rootCmd.SetArgs(nil)
	if err := rootCmd.Execute(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	csv, err := os.ReadFile(filepath.Join(dir, "subscriptions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(csv), "SPE_E3,5,expired,s1,") || !strings.Contains(string(csv), "2026-03-01T00:00:00Z") {
		t.Fatalf("subscriptions.csv:\n%s", csv)
	}
}
