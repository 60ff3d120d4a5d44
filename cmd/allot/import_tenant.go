package main

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"allot/bundle"
	"allot/catalog"
	"allot/licensing"
	"allot/tenant"
)

func init() {
	var db, tenantID string
	imp := &cobra.Command{
		Use:   "tenant DIR|FILE.zip",
		Short: "Import a tenant bundle (users, groups, members, licenses, subscriptions) — all or nothing",
		Long: `Import a tenant bundle: a folder or .zip of CSV files (users.csv, groups.csv,
members.csv, group_licenses.csv, direct_licenses.csv, subscriptions.csv, and
allot's allotments.csv and seats.csv). A bad row names its file and line and
nothing is written; importing the same bundle again changes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantID == "" {
				return usageError{fmt.Errorf("--tenant is required")}
			}
			ctx := cmd.Context()
			bar := newProgress(cmd.ErrOrStderr(), 4, progressbar.OptionSetDescription("reading bundle"),
				progressbar.OptionShowCount())
			b, err := bundle.Open(args[0], catalog.Default())
			if err != nil {
				return err
			}
			bar.Describe("loading the database")
			_ = bar.Add(1)
			start := time.Now()
			var stats licensing.ImportStats
			err = withTenant(ctx, db, tenantID, func(t *tenant.Tenant) error {
				bar.Describe("importing and computing licenses")
				_ = bar.Add(1)
				start = time.Now()
				stats, err = bundle.Apply(ctx, t, b.Consume(), "allot import (CLI)", t.Now())
				return err
			})
			if err != nil {
				return err
			}
			bar.Done()
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d users, %d groups, %d memberships, %d licenses in %s\n",
				stats.Users, stats.Groups, stats.Members, stats.Licenses, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	imp.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	imp.Flags().StringVar(&tenantID, "tenant", "", "tenant id")
	importCmd.AddCommand(imp)

	var edb, etenant string
	exp := &cobra.Command{
		Use:   "tenant DIR|FILE.zip",
		Short: "Export a tenant as a bundle of CSV files",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if etenant == "" {
				return usageError{fmt.Errorf("--tenant is required")}
			}
			err := withTenantReadOnly(cmd.Context(), edb, etenant, func(t *tenant.Tenant) error {
				var err error
				t.Read(func(s *tenant.State) { err = bundle.WriteTenant(args[0], s) })
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported tenant %s to %s\n", etenant, args[0])
			return nil
		},
	}
	exp.Flags().StringVar(&edb, "db", defaultDB, "SQLite file path or postgres:// URL")
	exp.Flags().StringVar(&etenant, "tenant", "", "tenant id")
	exportCmd.AddCommand(exp)
}
