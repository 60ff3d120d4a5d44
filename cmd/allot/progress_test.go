package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// The CLI's progress bars are drawn only on a terminal: when standard error
// is a file or a pipe (a log), the commands write nothing there on success.
func TestProgressBarsStayOutOfLogs(t *testing.T) {
	resetFlags(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "allot.db")
	tid := "44444444-4444-4444-8444-444444444444"
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	tn, err := rt.Create(ctx, store.Tenant{ID: tid, CompanyName: "C", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	err = tn.Do(ctx, licensing.Op{Now: time.Now()}, func(tx *tenant.Tx) error {
		return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u1", UserPrincipalName: "ann@c.example", UsageLocation: "US", AccountEnabled: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Close(ctx)
	st.Close()
	events := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(events, []byte(`{"id":"1","user":"ann@c.example","feature":"copilot","at":"2024-05-09T10:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	for _, args := range [][]string{
		{"import", "usage", "--db", db, "--tenant", tid, events},
		{"report", "position", "--db", db, "--tenant", tid, "--out", filepath.Join(dir, "position.xlsx")},
	} {
		var out bytes.Buffer
		rootCmd.SetOut(&out)
		rootCmd.SetErr(logFile)
		rootCmd.SetArgs(args)
		if _, err := rootCmd.ExecuteC(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
	}
	logged, err := os.ReadFile(logFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) > 0 {
		t.Fatalf("progress written to a standard error that is not a terminal: %q", logged)
	}
}
