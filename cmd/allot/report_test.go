package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/position"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

func TestPricesImportAndReportPosition(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "allot.db")
	tid := "55555555-5555-4555-8555-555555555555"
	func() {
		st, err := sqlite.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(ctx)
		tn, err := rt.Create(ctx, store.Tenant{ID: tid, CompanyName: "Fabrikam"}, licensing.Settings{DefaultUsageLocation: "US"})
		if err != nil {
			t.Fatal(err)
		}
		e3, _ := catalog.Default().SKU("SPE_E3")
		err = tn.Do(ctx, licensing.Op{Now: time.Now()}, func(tx *tenant.Tx) error {
			if err := tx.Engine.SetUnits(tx.Op, e3.ID, licensing.Units{Enabled: 4, Status: "Enabled"}); err != nil {
				return err
			}
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: "u1", UserPrincipalName: "=cmd@f.example", UsageLocation: "US"}); err != nil {
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
	run := func(cmd *cobra.Command, args ...string) (string, error) {
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	bad := write("bad.csv", "sku,currency,monthlyUnitPrice\nSPE_E3,USD,36\n\nNOPE,USD,2\n")
	if _, err := run(newPricesImportCmd(), "--db", db, "--tenant", tid, bad); err == nil || !strings.Contains(err.Error(), "line 4, column skuPartNumber") {
		t.Fatalf("bad prices: %v", err)
	}
	good := write("prices.csv", "\ufeffSPE_E3,usd,\"36,00\",annual\nSPE_E5,USD,57\n")
	if out, err := run(newPricesImportCmd(), "--db", db, "--tenant", tid, good); err != nil || !strings.Contains(out, "imported 2 prices in USD") {
		t.Fatalf("prices: %s %v", out, err)
	}
	for _, format := range []string{"json", "csv", "html"} {
		out := filepath.Join(dir, "position."+format)
		if msg, err := run(newReportPositionCmd(), "--db", db, "--tenant", tid, "--format", format, "--out", out); err != nil || !strings.Contains(msg, "1 findings") {
			t.Fatalf("%s: %s %v", format, msg, err)
		}
		body, _ := os.ReadFile(out)
		switch format {
		case "json":
			var p position.Position
			if err := json.Unmarshal(body, &p); err != nil || *p.Currency != "USD" || p.Findings[0].Kind != position.DisabledHoldingLicense {
				t.Fatalf("json: %v %+v", err, p)
			}
		case "csv":
			if !strings.Contains(string(body), "'=cmd@f.example") {
				t.Fatalf("csv does not defuse formulas: %s", body)
			}
		case "html":
			if !strings.Contains(string(body), "<svg") || !strings.Contains(string(body), "Fabrikam") {
				t.Fatalf("html: %.300s", body)
			}
		}
	}
	if _, err := run(newReportPositionCmd(), "--db", db, "--tenant", tid, "--format", "pdf", "--out", "x"); err == nil {
		t.Fatal("pdf accepted")
	}
}
