package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"allot/audit"
	"allot/licensing"
	"allot/prices"
	"allot/tenant"
)

// allot prices import FILE.csv: replace a tenant's price list from a CSV
// file, offline, through the same runtime as the server.

func init() {
	pricesCmd := &cobra.Command{Use: "prices", Short: "Work with a tenant's price list"}
	pricesCmd.AddCommand(newPricesImportCmd())
	rootCmd.AddCommand(pricesCmd)
}

func newPricesImportCmd() *cobra.Command {
	var db, tenantID, tenantKind string
	var mayBuy []string
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Replace a tenant's price list from a CSV file",
		Long: `Replace a tenant's price list from a CSV file with the columns SKU (part
number or skuId), currency, monthly unit price and an optional term
(monthly, annual, triennial, P1M, P1Y, P3Y). A header row (sku, currency,
monthlyUnitPrice, term, in any order) is optional. Every row must name the
same currency. A bad row is reported with its line and nothing is changed.`,
		Example: `  allot prices import --tenant 7c1e… prices.csv

  prices.csv:
    sku,currency,monthlyUnitPrice,term
    SPE_E3,USD,36.00,annual
    SPE_E5,USD,57.00,annual`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantID == "" {
				return usageError{fmt.Errorf("--tenant is required")}
			}
			f, err := os.Open(args[0])
			if err != nil {
				return usageError{err}
			}
			defer f.Close()
			l, lines, err := prices.ParseCSV(f)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			ctx := cmd.Context()
			err = withTenant(ctx, db, tenantID, func(t *tenant.Tenant) error {
				l.UpdatedAt = t.Now()
				l.TenantKind, l.MayBuy = tenantKind, mayBuy
				var err error
				t.Read(func(s *tenant.State) { err = l.Check(s.Engine.Catalog()) })
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], lines.Rewrite(err))
				}
				return t.Do(ctx, licensing.Op{Actor: "allot prices import (CLI)", Now: l.UpdatedAt}, func(tx *tenant.Tx) error {
					tx.Audit(audit.Entry{Action: "Set price list", Detail: fmt.Sprintf("%s, %d products, from %s", l.Currency, len(l.Prices), args[0])})
					return prices.Put(tx, l)
				})
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d prices in %s for tenant %s\n", len(l.Prices), l.Currency, tenantID)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant id (required)")
	cmd.Flags().StringVar(&tenantKind, "tenant-kind", "", "who the tenant is to Microsoft's sales: commercial (default), education, government or nonprofit")
	cmd.Flags().StringSliceVar(&mayBuy, "may-buy", nil, "the products the tenant may buy (part numbers or skuIds, comma-separated; default: every priced product of its kind)")
	return cmd
}
