package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"allot/auth"
	"allot/store"
)

func init() {
	tokenCmd := &cobra.Command{Use: "token", Short: "Create and revoke API tokens (offline, on the database)",
		Long: `Create and revoke API tokens directly in the database. Like every command
that writes, these are refused while allot serve runs on the same database
(one process owns a database); then use the API instead
(POST/DELETE /allot/v1/tenants/{tenantId}/tokens), which the server obeys at
once. A token revoked here is refused from the server's next start.`}
	var db, tenantID, name string
	var roles, allotments []string
	var partnerAdmin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API token; the secret is printed once",
		Example: `  allot token create --tenant 7c1e… --role GlobalAdministrator
  allot token create --tenant 7c1e… --role AllotmentOwner --allotment 3f2a…
  allot token create --partner --display-name automation`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if partnerAdmin == (tenantID != "") {
				return usageError{fmt.Errorf("give either --tenant ID (with --role) or --partner")}
			}
			st, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			tid := tenantID
			if partnerAdmin {
				tid, roles = store.PartnerTenant, []string{auth.RolePartnerAdministrator}
			} else {
				if _, err := st.GetTenant(ctx, tenantID); err != nil {
					return fmt.Errorf("tenant %s: %w", tenantID, err)
				}
				// The API's messages name its JSON fields; say the flags.
				switch {
				case len(roles) == 0:
					return usageError{fmt.Errorf("--role is required: %s (repeatable)", strings.Join(auth.TenantRoles, ", "))}
				case slices.Contains(roles, auth.RoleAllotmentOwner) && len(allotments) == 0:
					return usageError{fmt.Errorf("--role AllotmentOwner needs --allotment ID (repeatable): the allotments the token manages (allot allotments --tenant %s lists them)", tenantID)}
				case len(allotments) > 0 && !slices.Contains(roles, auth.RoleAllotmentOwner):
					return usageError{fmt.Errorf("--allotment is for --role AllotmentOwner only")}
				}
				if err := auth.ValidateRoles(roles, allotments); err != nil {
					return usageError{err}
				}
			}
			t, secret, err := auth.Create(ctx, st, tid, name, roles, allotments, "", time.Now())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{"id": t.ID, "token": secret, "tenantId": t.TenantID, "roles": t.Roles})
		},
	}
	create.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	create.Flags().StringVar(&tenantID, "tenant", "", "tenant id")
	create.Flags().StringSliceVar(&roles, "role", nil, "role (repeatable): GlobalAdministrator, LicenseAdministrator, UserAdministrator, GroupsAdministrator, GlobalReader, ReportsReader, AllotmentOwner")
	create.Flags().StringSliceVar(&allotments, "allotment", nil, "allotment id for an AllotmentOwner (repeatable)")
	create.Flags().StringVar(&name, "display-name", "cli token", "display name")
	create.Flags().BoolVar(&partnerAdmin, "partner", false, "create a partner administrator token")

	var rdb, rtenant string
	revoke := &cobra.Command{
		Use:   "revoke TOKEN-ID",
		Short: "Revoke a token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd.Context(), rdb)
			if err != nil {
				return err
			}
			defer st.Close()
			tid := rtenant
			if tid == "" {
				tid = store.PartnerTenant
			}
			return st.RevokeToken(cmd.Context(), tid, args[0], time.Now())
		},
	}
	revoke.Flags().StringVar(&rdb, "db", defaultDB, "SQLite file path or postgres:// URL")
	revoke.Flags().StringVar(&rtenant, "tenant", "", "tenant id (empty for a partner token)")
	tokenCmd.AddCommand(create, revoke)
	rootCmd.AddCommand(tokenCmd)
}
