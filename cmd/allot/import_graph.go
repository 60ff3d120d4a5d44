package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"allot/bundle"
	"allot/licensing"
	"allot/tenant"
)

func init() {
	var db, tenantID string
	var users, groups, skus []string
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Import a Microsoft 365 tenant from saved Microsoft Graph JSON responses",
		Long: `Import users, groups, memberships and licenses from the JSON that Microsoft
Graph returns (one or many pages each):

  GET /v1.0/users?$select=id,userPrincipalName,displayName,accountEnabled,usageLocation,department,assignedLicenses,licenseAssignmentStates
  GET /v1.0/groups?$expand=members&$select=id,displayName,securityEnabled,groupTypes,membershipRule,assignedLicenses
  GET /v1.0/subscribedSkus

All or nothing, like allot import tenant.`,
		Example: `  allot import graph --tenant 7c1e… --users users-1.json --users users-2.json --groups groups.json --skus skus.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantID == "" || len(users) == 0 {
				return usageError{fmt.Errorf("--tenant and at least one --users file are required")}
			}
			read := func(paths []string) (map[string][]byte, error) {
				m := map[string][]byte{}
				for _, p := range paths {
					data, err := os.ReadFile(p)
					if err != nil {
						return nil, err
					}
					m[p] = data
				}
				return m, nil
			}
			u, err := read(users)
			if err != nil {
				return err
			}
			g, err := read(groups)
			if err != nil {
				return err
			}
			s, err := read(skus)
			if err != nil {
				return err
			}
			b, err := bundle.FromGraph(u, g, s)
			if err != nil {
				return err
			}
			var stats licensing.ImportStats
			err = withTenant(cmd.Context(), db, tenantID, func(t *tenant.Tenant) error {
				stats, err = bundle.Apply(cmd.Context(), t, b.Consume(), "allot import graph (CLI)", t.Now())
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d users, %d groups, %d memberships, %d licenses\n", stats.Users, stats.Groups, stats.Members, stats.Licenses)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant id")
	cmd.Flags().StringArrayVar(&users, "users", nil, "a saved /v1.0/users response (repeatable)")
	cmd.Flags().StringArrayVar(&groups, "groups", nil, "a saved /v1.0/groups?$expand=members response (repeatable)")
	cmd.Flags().StringArrayVar(&skus, "skus", nil, "a saved /v1.0/subscribedSkus response (repeatable)")
	importCmd.AddCommand(cmd)
}
