package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"allot/rules"
	"allot/tenant"
)

func init() {
	groupsCmd := &cobra.Command{Use: "groups", Short: "Work with groups"}
	var db, tenantID string
	var asJSON bool
	ruleTest := &cobra.Command{
		Use:   "rule-test RULE",
		Short: "Validate a dynamic membership rule and preview who it matches",
		Long: `Validate a dynamic membership rule (Entra's rule language) and, when it is
valid, count the tenant's users it matches and list the first 20.
Exit status: 0 valid, 1 invalid or failed, 2 usage error.`,
		Example: `  allot groups rule-test --tenant 7c1e… 'user.department -eq "Sales" -and user.country -in ["US","CA"]'`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantID == "" {
				return usageError{fmt.Errorf("--tenant is required")}
			}
			var res rules.Check
			err := withTenantReadOnly(cmd.Context(), db, tenantID, func(t *tenant.Tenant) error {
				t.Read(func(s *tenant.State) { res = s.Engine.CheckRule(args[0], t.Now()) })
				return nil
			})
			if err != nil {
				return err
			}
			printRuleCheck(cmd.OutOrStdout(), res, asJSON)
			if !res.Valid {
				return errSilent
			}
			return nil
		},
	}
	ruleTest.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	ruleTest.Flags().StringVar(&tenantID, "tenant", "", "tenant id")
	ruleTest.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	groupsCmd.AddCommand(ruleTest)
	rootCmd.AddCommand(groupsCmd)
}

func printRuleCheck(w io.Writer, res rules.Check, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return
	}
	if !res.Valid {
		fmt.Fprintln(w, "invalid rule:")
		for _, e := range res.Errors {
			fmt.Fprintf(w, "  %s\n", e.Message)
		}
		return
	}
	fmt.Fprintf(w, "valid rule: %d user(s) match\n", *res.MatchCount)
	for _, u := range res.Sample {
		fmt.Fprintf(w, "  %s  %s  %s\n", u.ID, u.UserPrincipalName, u.DisplayName)
	}
}
