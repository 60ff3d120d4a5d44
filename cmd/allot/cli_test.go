package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/subscription"
	"allot/tenant"
	"allot/userprop"
)

// runAllot runs the CLI with args and returns what it wrote (standard
// output and error together).
func runAllot(t *testing.T, args ...string) (string, error) {
	t.Helper()
	resetFlags(t)
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	defer rootCmd.SetArgs(nil)
	err := rootCmd.Execute()
	return out.String(), err
}

// seedTenant gives the offline tenant two users (one with a mailNickname
// and an extension attribute), a group with a license and both users as
// members, a direct license and a subscription.
func seedTenant(t *testing.T, tn *tenant.Tenant) {
	t.Helper()
	e3, _ := catalog.Default().SKU("SPE_E3")
	o365, _ := catalog.Default().SKU("ENTERPRISEPACK")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := tn.Do(context.Background(), licensing.Op{Now: now}, func(tx *tenant.Tx) error {
		if err := subscription.Put(tx, subscription.Subscription{ID: "s1", SKUID: e3.ID, SKUPartNumber: "SPE_E3", OfferID: "SPE_E3", FriendlyName: e3.DisplayName, Quantity: 5,
			Status: subscription.StatusActive, CreationDate: now}); err != nil {
			return err
		}
		if err := subscription.Put(tx, subscription.Subscription{ID: "s2", SKUID: o365.ID, SKUPartNumber: "ENTERPRISEPACK", OfferID: "ENTERPRISEPACK", FriendlyName: o365.DisplayName, Quantity: 2,
			Status: subscription.StatusActive, CreationDate: now}); err != nil {
			return err
		}
		for _, u := range []licensing.User{
			licensing.User{ID: "u1", UserPrincipalName: "ann@c.example", DisplayName: "Ann", UsageLocation: "US", AccountEnabled: true,
				Attributes: map[string]string{"mailnickname": "ann", "extensionattribute3": "x"}, CreatedAt: now}.With(userprop.Department, "Sales"),
			{ID: "u2", UserPrincipalName: "bob@c.example", DisplayName: "Bob", UsageLocation: "US", AccountEnabled: true, CreatedAt: now},
		} {
			if err := tx.Engine.PutUser(tx.Op, u); err != nil {
				return err
			}
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g1", DisplayName: "Sales", MailNickname: "sales", SecurityEnabled: true, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.Engine.AddMembers(tx.Op, "g1", []string{"u1", "u2"}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "g1", []licensing.AssignedLicense{{SKUID: e3.ID}}, nil); err != nil {
			return err
		}
		return tx.Engine.AssignUserLicenses(tx.Op, "u1", []licensing.AssignedLicense{{SKUID: o365.ID}}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// An exported bundle imports into another database as the same tenant:
// exporting that one gives the same files. The zip's entries carry the
// export's time, and users.csv names the columns as import reads them
// (mailNickname, extensionAttribute3).
func TestExportImportRoundTrip(t *testing.T) {
	db, st, rt, tn := newOfflineTenant(t)
	seedTenant(t, tn)
	rt.Close(context.Background())
	st.Close()

	zipPath := filepath.Join(t.TempDir(), "bundle.zip")
	before := time.Now().Add(-time.Minute)
	if out, err := runAllot(t, "export", "tenant", "--db", db, "--tenant", testTenantID, zipPath); err != nil {
		t.Fatalf("export: %v %s", err, out)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Modified.Before(before) {
			t.Errorf("%s is dated %s", f.Name, f.Modified)
		}
	}
	zr.Close()
	first := filepath.Join(t.TempDir(), "first")
	if out, err := runAllot(t, "export", "tenant", "--db", db, "--tenant", testTenantID, first); err != nil {
		t.Fatalf("export: %v %s", err, out)
	}
	users, _ := os.ReadFile(filepath.Join(first, "users.csv"))
	if hdr, _, _ := strings.Cut(string(users), "\n"); !strings.Contains(hdr, ",mailNickname") || !strings.Contains(hdr, ",extensionAttribute3") {
		t.Fatalf("users.csv header: %s", hdr)
	}

	db2, st2, rt2, _ := newOfflineTenant(t)
	rt2.Close(context.Background())
	st2.Close()
	if out, err := runAllot(t, "import", "tenant", "--db", db2, "--tenant", testTenantID, zipPath); err != nil {
		t.Fatalf("import: %v %s", err, out)
	}
	second := filepath.Join(t.TempDir(), "second")
	if out, err := runAllot(t, "export", "tenant", "--db", db2, "--tenant", testTenantID, second); err != nil {
		t.Fatalf("export: %v %s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(first, "*.csv"))
	if len(names) < 5 {
		t.Fatalf("the export has %d files", len(names))
	}
	for _, name := range names {
		a, _ := os.ReadFile(name)
		b, err := os.ReadFile(filepath.Join(second, filepath.Base(name)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs after export → import → export:\n%s\n---\n%s", filepath.Base(name), a, b)
		}
	}
}

// A bar that finishes shows 100 % and ends its line; one that stops early
// (main calls endProgress before printing the error) ends its line where
// it stopped, so the error starts a line of its own.
func TestProgressEndsItsLine(t *testing.T) {
	drawAlways = true
	defer func() { drawAlways = false }()
	var buf bytes.Buffer
	p := newProgress(&buf, 10)
	_ = p.Add(5)
	endProgress()
	if s := buf.String(); !strings.Contains(s, "50%") || !strings.HasSuffix(s, "\n") {
		t.Fatalf("a stopped bar: %q", s)
	}
	buf.Reset()
	p = newProgress(&buf, 10)
	_ = p.Add(3)
	p.Done()
	endProgress() // nothing more: the bar is done
	if s := buf.String(); !strings.Contains(s, "100%") || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Fatalf("a finished bar: %q", s)
	}
}

// The CLI's messages name its flags and carry no package prefixes.
func TestCLIMessagesNameFlags(t *testing.T) {
	db, st, rt, _ := newOfflineTenant(t)
	rt.Close(context.Background())
	st.Close()
	_, err := runAllot(t, "token", "create", "--db", db, "--tenant", testTenantID, "--role", "AllotmentOwner")
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--allotment") || strings.Contains(err.Error(), "allotmentIds") {
		t.Fatalf("AllotmentOwner without --allotment: %v", err)
	}
	if got := cliMessage(fmt.Errorf("opening database: %w", fmt.Errorf("store/sqlite: backup to /x: %w", os.ErrExist))); got != "opening database: backup to /x: file already exists" {
		t.Fatalf("cliMessage: %q", got)
	}
	// report position writes to standard output without --out.
	out, err := runAllot(t, "report", "position", "--db", db, "--tenant", testTenantID)
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Fatalf("report position without --out: %v %q", err, out)
	}
}

// allot users, licenses, allotments and explain read a tenant (beside a
// writer: the database stays open for writing while they run), and
// allot backup copies it; the copy holds the tenant.
func TestReadCommandsAndBackup(t *testing.T) {
	db, st, rt, tn := newOfflineTenant(t)
	seedTenant(t, tn)
	readCommands(t, db)

	// The store stays open for writing: a backup is taken beside it.
	backup := filepath.Join(t.TempDir(), "copy.db")
	if out, err := runAllot(t, "backup", "--db", db, backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if _, err := runAllot(t, "backup", "--db", db, backup); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("backup over an existing file: %v", err)
	}
	out, err := runAllot(t, "users", "--db", backup, "--tenant", testTenantID)
	if err != nil || !strings.Contains(out, "bob@c.example") {
		t.Fatalf("users of the backup: %v\n%s", err, out)
	}
	if _, err = runAllot(t, "backup", "--db", "postgres://u@127.0.0.1/x", "x.dump"); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("backup of PostgreSQL: %v", err)
	}
	rt.Close(context.Background())
	st.Close()
}

// readCommands: users, licenses, allotments and explain read the seeded
// tenant of the database db, and refuse a command without --tenant.
func readCommands(t *testing.T, db string) {
	out, err := runAllot(t, "users", "--db", db, "--tenant", testTenantID)
	if err != nil || !strings.Contains(out, "ann@c.example") || !strings.Contains(out, "ENTERPRISEPACK") || !strings.Contains(out, "SPE_E3") {
		t.Fatalf("users: %v\n%s", err, out)
	}
	out, err = runAllot(t, "users", "--db", db, "--tenant", testTenantID, "--search", "BOB", "--json")
	var users []userRow
	if err != nil || json.Unmarshal([]byte(out), &users) != nil || len(users) != 1 || users[0].ID != "u2" {
		t.Fatalf("users --search --json: %v\n%s", err, out)
	}
	out, err = runAllot(t, "licenses", "--db", db, "--tenant", testTenantID)
	if err != nil || !strings.Contains(out, "SPE_E3") || !strings.Contains(out, "ENTERPRISEPACK") {
		t.Fatalf("licenses: %v\n%s", err, out)
	}
	out, err = runAllot(t, "licenses", "--db", db, "--tenant", testTenantID, "--user", "ann@c.example")
	if err != nil || !strings.Contains(out, "group Sales") || !strings.Contains(out, "direct") {
		t.Fatalf("licenses --user: %v\n%s", err, out)
	}
	if _, err = runAllot(t, "licenses", "--db", db, "--tenant", testTenantID, "--user", "nobody@c.example"); err == nil || !strings.Contains(err.Error(), "nobody@c.example") {
		t.Fatalf("licenses --user nobody: %v", err)
	}
	out, err = runAllot(t, "allotments", "--db", db, "--tenant", testTenantID, "--json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("allotments: %v\n%s", err, out)
	}
	out, err = runAllot(t, "explain", "--db", db, "--tenant", testTenantID, "ann@c.example", "SPE_E3")
	if err != nil || !strings.Contains(out, "holds a seat") || !strings.Contains(out, "Sales") {
		t.Fatalf("explain: %v\n%s", err, out)
	}
	if _, err = runAllot(t, "users", "--db", db); err == nil || !strings.Contains(err.Error(), "--tenant") {
		t.Fatalf("users without --tenant: %v", err)
	}
}
