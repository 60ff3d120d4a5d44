package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
	"allot/usage"
)

func TestImportUsageAndSignInsThroughTheRuntime(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "allot.db")
	tid := "33333333-3333-4333-8333-333333333333"
	grant := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	func() {
		st, err := sqlite.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger(), Now: func() time.Time { return grant.Add(-time.Hour) }}))
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(ctx)
		tn, err := rt.Create(ctx, store.Tenant{ID: tid, CompanyName: "C", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
		if err != nil {
			t.Fatal(err)
		}
		e3, _ := catalog.Default().SKU("SPE_E3")
		err = tn.Do(ctx, licensing.Op{Now: grant}, func(tx *tenant.Tx) error {
			if err := tx.Engine.SetUnits(tx.Op, e3.ID, licensing.Units{Enabled: 10, Status: "Enabled"}); err != nil {
				return err
			}
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: "u1", UserPrincipalName: "ann@c.example", UsageLocation: "US", AccountEnabled: true}); err != nil {
				return err
			}
			return tx.Engine.AssignUserLicenses(tx.Op, "u1", []licensing.AssignedLicense{{SKUID: e3.ID}}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	report := write("active.csv", "\ufeffReport Refresh Date,User Principal Name,Exchange Last Activity Date,Teams Last Activity Date,Assigned Products\n"+
		"2024-05-10,ann@c.example,2024-05-09,,MICROSOFT 365 E3\n"+
		"2024-05-10,bob@c.example,2024-05-08,2024-05-08,MICROSOFT 365 E3\n"+
		"2024-05-10,ann@c.example,not-a-date,,\n")
	events := write("events.jsonl", `{"id":"1","user":"ann@c.example","feature":"copilot","at":"2024-05-09T10:00:00Z"}`+"\n"+
		`{"id":"1","user":"ann@c.example","feature":"copilot","at":"2024-05-09T10:00:00Z"}`+"\n"+
		`{"id":"2","user":"ann@c.example","feature":"noSuchFeature","at":"2024-05-09T10:00:00Z"}`+"\n")
	signins := write("signins.json", `{"value":[{"id":"s1","user":"ann@c.example","at":"2024-05-02T08:00:00Z","interactive":true}]}`)

	runRejecting := func(cmd *cobra.Command, rejected int, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(args)
		cmd.SilenceUsage = true
		err := cmd.ExecuteContext(context.Background())
		var re rejectedError
		if rejected > 0 && (!errors.As(err, &re) || re.n != rejected) {
			t.Fatalf("%v: %v, want %d rejected lines (exit code 3)\n%s", args, err, rejected, out.String())
		}
		if rejected == 0 && err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	run := func(cmd *cobra.Command, args ...string) string {
		t.Helper()
		return runRejecting(cmd, 0, args...)
	}
	// Rejected lines: the rest is imported, and the command fails with
	// exit code 3 (rejectedError).
	out := runRejecting(newImportUsageCmd(), 2, "--db", db, "--tenant", tid, report, events)
	for _, want := range []string{"report getOffice365ActiveUserDetail 2024-05-10: 1 accepted, 1 rejected, 1 unmatched",
		"line 4: invalid date", "bob@c.example: no such user", "events: 1 accepted, 1 rejected, 0 unmatched, 1 duplicates",
		"line 3: unknown feature"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if out := run(newImportUsageCmd(), "--db", db, "--tenant", tid, report); !strings.Contains(out, "imported before; nothing changed") {
		t.Fatalf("re-import: %s", out)
	}
	if out := run(newImportSignInsCmd(), "--db", db, "--tenant", tid, signins); !strings.Contains(out, "sign-ins: 1 accepted") {
		t.Fatalf("sign-ins: %s", out)
	}
	badSignins := write("bad.jsonl", `{"id":"s2","user":"ann@c.example","at":"2024-05-03T08:00:00Z"}`+"\n"+`{"id":"s3","user":"ann@c.example","at":"yesterday"}`+"\n")
	if out := runRejecting(newImportSignInsCmd(), 1, "--db", db, "--tenant", tid, badSignins); !strings.Contains(out, "1 accepted, 1 rejected") {
		t.Fatalf("sign-ins with a bad line: %s", out)
	}

	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rt, err := tenant.Open(context.Background(), st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	tn, _ := rt.Get(tid)
	var rep usage.UserReport
	tn.Read(func(s *tenant.State) {
		rep, _ = usage.UserReportOf(s, "u1", usage.DayOf(time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)))
	})
	if len(rep.Licenses) != 1 || rep.Licenses[0].ActivatedDateTime == nil ||
		!rep.Licenses[0].ActivatedDateTime.Equal(time.Date(2024, 5, 2, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("licenses %+v", rep.Licenses)
	}
	if rep.Workloads["Exchange"] != "2024-05-09" || rep.Workloads["Copilot"] != "2024-05-09" {
		t.Fatalf("workloads %v", rep.Workloads)
	}
}

// BenchmarkImportUsageEvents runs allot import usage on a file of 1,000,000
// JSON-lines events (10,000 users holding Microsoft 365 E3): reading,
// parsing and one command per million events through the runtime on SQLite.
//
//	go test ./cmd/allot -run '^$' -bench ImportUsageEvents -benchtime 3x
func BenchmarkImportUsageEvents(b *testing.B) {
	const events, users = 1_000_000, 10_000
	dir := b.TempDir()
	db := filepath.Join(dir, "allot.db")
	tid := "44444444-4444-4444-8444-444444444444"
	now := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	func() {
		st, err := sqlite.Open(db)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger(), Now: func() time.Time { return now.AddDate(-1, 0, 0) }}))
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close(ctx)
		tn, err := rt.Create(ctx, store.Tenant{ID: tid, CompanyName: "C", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
		if err != nil {
			b.Fatal(err)
		}
		e3, _ := catalog.Default().SKU("SPE_E3")
		err = tn.Do(ctx, licensing.Op{Now: now.AddDate(0, -6, 0)}, func(tx *tenant.Tx) error {
			if err := tx.Engine.SetUnits(tx.Op, e3.ID, licensing.Units{Enabled: users, Status: "Enabled"}); err != nil {
				return err
			}
			for i := 0; i < users; i++ {
				id := fmt.Sprintf("u%d", i)
				if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id + "@c.example", UsageLocation: "US", AccountEnabled: true}); err != nil {
					return err
				}
				if err := tx.Engine.AssignUserLicenses(tx.Op, id, []licensing.AssignedLicense{{SKUID: e3.ID}}, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}()
	features := []string{"exchangeMailbox", "teamsChat", "copilot", "attackSimulation", "oneDriveFiles", "powerBIPro"}
	total := 0
	var elapsed time.Duration
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		name := filepath.Join(dir, fmt.Sprintf("events-%d.jsonl", n))
		var buf bytes.Buffer
		for i := 0; i < events; i++ {
			fmt.Fprintf(&buf, `{"id":"%d-%d","user":"u%d@c.example","feature":"%s","at":"%s"}`+"\n", n, i, (i*7919)%users,
				features[i%len(features)], now.Add(-time.Duration(i%(85*24))*time.Hour).Format(time.RFC3339))
		}
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		cmd := newImportUsageCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"--db", db, "--tenant", tid, name})
		b.StartTimer()
		start := time.Now()
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		if !strings.Contains(out.String(), fmt.Sprintf("%d accepted", events)) {
			b.Fatalf("output %s", out.String())
		}
		total += events
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
}
