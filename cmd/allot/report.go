package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/tenant"
	"allot/usage"
)

// allot report position: the license position of a tenant as JSON, CSV or
// a printable HTML report, offline, through the same runtime as the server.

func init() {
	reportCmd := &cobra.Command{Use: "report", Short: "Write reports (the license position)"}
	reportCmd.AddCommand(newReportPositionCmd())
	rootCmd.AddCommand(reportCmd)
}

func newReportPositionCmd() *cobra.Command {
	var db, tenantID, format, out, asOf string
	var window int
	cmd := &cobra.Command{
		Use:   "position",
		Short: "Write a tenant's license position (owned, assigned, required, used, findings, cheapest fixes)",
		Long: `Write the license position of a tenant as of a day: per product what it owns,
assigns, requires and uses, with costs at the tenant's price list (see
allot prices import), and the findings with their evidence and cheapest fix.

--format json is the position as GET /allot/v1/position answers it; csv is
the findings, one row each; html is a printable report with charts. It is
written to standard output unless --out names a file.`,
		Example: `  allot report position --tenant 7c1e… --format html --out position.html
  allot report position --tenant 7c1e… --format csv --out findings.csv --as-of 2024-06-30`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantID == "" {
				return usageError{fmt.Errorf("--tenant is required")}
			}
			if format != "json" && format != "csv" && format != "html" {
				return usageError{fmt.Errorf("--format must be json, csv or html, not %q", format)}
			}
			var day usage.Day // --as-of, else the day of the runtime's clock
			if asOf != "" {
				d, err := position.ParseDay(asOf)
				if err != nil {
					return usageError{fmt.Errorf("--as-of: %q is not a date (YYYY-MM-DD)", asOf)}
				}
				day = d
			}
			if window < 1 || window > 90 {
				return usageError{fmt.Errorf("--window must be 1 to 90 days")}
			}
			ctx := cmd.Context()
			bar := newProgress(cmd.ErrOrStderr(), 1000, progressbar.OptionSetDescription("loading the database"),
				progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
			st, err := openStoreReadOnly(ctx, db)
			if err != nil {
				return fmt.Errorf("opening database: %w", err)
			}
			defer st.Close()
			rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
			if err != nil {
				return fmt.Errorf("loading tenants: %w", err)
			}
			defer rt.Close(ctx)
			t, ok := rt.Get(tenantID)
			if !ok {
				return fmt.Errorf("tenant %s does not exist", tenantID)
			}
			now := rt.Now()
			if asOf == "" {
				day = usage.DayOf(now)
			}
			bar.Describe("computing the position")
			_ = bar.Set(100)
			var p *position.Position
			t.Read(func(s *tenant.State) {
				p, err = snapshotstore.Position(s, position.Options{AsOf: day, WindowDays: window, Now: now,
					Progress: func(done, total int) { _ = bar.Set(100 + 800*done/max(total, 1)) }})
			})
			if err != nil {
				return err
			}
			bar.Describe("writing " + format)
			_ = bar.Set(900)
			if err := writeReport(cmd.OutOrStdout(), out, format, p, t.Info().CompanyName); err != nil {
				return err
			}
			bar.Done()
			if out != "-" {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote the position of %s as of %s to %s: %d products, %d findings\n",
					tenantID, p.AsOf, out, len(p.SKUs), p.FindingCount())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant id (required)")
	cmd.Flags().StringVar(&format, "format", "json", "json, csv or html")
	cmd.Flags().StringVar(&out, "out", "-", "file to write (default -: standard output)")
	cmd.Flags().StringVar(&asOf, "as-of", "", "the last day of the usage window, YYYY-MM-DD (default today)")
	cmd.Flags().IntVar(&window, "window", position.DefaultWindowDays, "usage window in days (1-90)")
	return cmd
}

// writeReport writes p in format to the file out ("-": standard output).
func writeReport(stdout io.Writer, out, format string, p *position.Position, tenantName string) (err error) {
	w := stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	switch format {
	case "json":
		err = p.WriteJSON(bw)
	case "csv":
		err = position.WriteCSV(bw, p)
	default:
		err = position.WriteHTML(bw, p, position.HTMLOptions{Tenant: tenantName})
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}
