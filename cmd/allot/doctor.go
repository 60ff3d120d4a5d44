package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"allot/catalog"
	"allot/tenant"
)

// allot doctor: list, offline, the inconsistent stored records that make a
// tenant read-only (tenant.Problem), and repair them with --repair.

func init() { rootCmd.AddCommand(newDoctorCmd()) }

// doctorReport is one tenant's result (--json).
type doctorReport struct {
	Tenant   string           `json:"tenant"`
	Problems []tenant.Problem `json:"problems"`
	Repaired bool             `json:"repaired"`
	Left     []tenant.Problem `json:"left,omitempty"`
}

func newDoctorCmd() *cobra.Command {
	var db, tenantID string
	var repair, asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the stored state of every tenant and repair inconsistent records (dry run unless --repair)",
		Long: `Load every tenant (or --tenant) from the database as allot serve does and list
the stored records that break the engine's invariants: licenses, memberships
and seat records of users or groups that do not exist, records that cannot be
decoded, allotments holding more units than the subscription. allot serve
serves such a tenant read-only (GET /readyz lists it) and the others as usual.

Without --repair nothing is written, and the exit code is 1 when a problem is
found. With --repair each problem's repair is applied in one transaction with
an audit entry (delete the orphan record; lower the newest allotments until
they fit the subscription), and the tenant's license records are re-derived.
The dry run works beside a running allot serve; --repair writes the database
and is refused until allot serve is stopped.`,
		Example: `  allot doctor --db allot.db
  allot doctor --db allot.db --tenant 7c1e… --repair`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			open := openStoreReadOnly // a dry run reads beside a running server
			if repair {
				open = openStore
			}
			st, err := open(ctx, db)
			if err != nil {
				return fmt.Errorf("opening database: %w", err)
			}
			defer st.Close()
			ids := []string{tenantID}
			if tenantID == "" {
				infos, err := st.ListTenants(ctx)
				if err != nil {
					return err
				}
				ids = ids[:0]
				for _, t := range infos {
					ids = append(ids, t.ID)
				}
			}
			out := cmd.OutOrStdout()
			if len(ids) == 0 && !asJSON {
				fmt.Fprintln(out, "the database holds no tenants: nothing to check")
			}
			reports := []doctorReport{}
			unresolved := false
			for _, id := range ids {
				r := doctorReport{Tenant: id}
				if repair {
					r.Problems, r.Left, err = tenant.Repair(ctx, st, catalog.Default(), id, "allot doctor --repair (CLI)")
					r.Repaired = len(r.Problems) > 0
				} else {
					r.Problems, err = tenant.Check(ctx, st, catalog.Default(), id)
				}
				if err != nil {
					return fmt.Errorf("tenant %s: %w", id, err)
				}
				if r.Problems == nil {
					r.Problems = []tenant.Problem{}
				}
				if (!repair && len(r.Problems) > 0) || len(r.Left) > 0 {
					unresolved = true
				}
				reports = append(reports, r)
				if asJSON {
					continue
				}
				switch {
				case len(r.Problems) == 0:
					fmt.Fprintf(out, "tenant %s: consistent\n", id)
				case repair:
					fmt.Fprintf(out, "tenant %s: repaired %d problem(s)\n", id, len(r.Problems))
				default:
					fmt.Fprintf(out, "tenant %s: %d problem(s)\n", id, len(r.Problems))
				}
				for _, p := range r.Problems {
					fmt.Fprintf(out, "  %s\n", p)
				}
				for _, p := range r.Left {
					fmt.Fprintf(out, "  still inconsistent: %s\n", p)
				}
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(reports); err != nil {
					return err
				}
			} else if unresolved && !repair {
				fmt.Fprintln(out, "dry run: nothing was changed; run allot doctor --repair to repair")
			}
			if unresolved {
				return errSilent
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().StringVar(&tenantID, "tenant", "", "check only this tenant")
	cmd.Flags().BoolVar(&repair, "repair", false, "apply the repairs (default: dry run)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
