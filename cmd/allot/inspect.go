package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"allot/licensing"
	"allot/tenant"
)

// allot users, licenses, allotments and explain: read a tenant's state
// offline. They open the database read-only (no lock), so they work beside
// a running allot serve and show its last commit.

// readFlags are the flags of the commands that read a tenant.
type readFlags struct {
	db, tenant string
	asJSON     bool
}

func (f *readFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().StringVar(&f.tenant, "tenant", "", "tenant id (required)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON instead of a table")
}

// read runs fn on the tenant's last-committed state.
func (f *readFlags) read(cmd *cobra.Command, fn func(s *tenant.State) error) error {
	if f.tenant == "" {
		return usageError{fmt.Errorf("--tenant is required")}
	}
	return withTenantReadOnly(cmd.Context(), f.db, f.tenant, func(t *tenant.Tenant) error {
		var err error
		t.Read(func(s *tenant.State) { err = fn(s) })
		return err
	})
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func init() {
	rootCmd.AddCommand(newUsersCmd(), newLicensesCmd(), newAllotmentsCmd(), newExplainCmd())
}

// partNumber is a SKU's part number, or its id when the catalog lacks it.
func partNumber(s *tenant.State, skuID string) string {
	if sku, ok := s.Engine.Catalog().SKU(skuID); ok {
		return sku.PartNumber
	}
	return skuID
}

// findUser resolves a user id or userPrincipalName.
func findUser(s *tenant.State, ref string) (licensing.User, error) {
	if u, ok := s.Engine.User(ref); ok {
		return u, nil
	}
	if u, ok := s.Engine.UserByUPN(ref); ok {
		return u, nil
	}
	return licensing.User{}, fmt.Errorf("no user %q in tenant (give an id or a userPrincipalName; allot users --search lists them)", ref)
}

// userRow is a line of allot users.
type userRow struct {
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName"`
	DisplayName       string   `json:"displayName"`
	UsageLocation     string   `json:"usageLocation"`
	AccountEnabled    bool     `json:"accountEnabled"`
	Licenses          []string `json:"licenses"` // part numbers of the seats held
	Waiting           []string `json:"waiting"`  // part numbers waited for
}

func newUsersCmd() *cobra.Command {
	var f readFlags
	var search string
	var top int
	cmd := &cobra.Command{
		Use:   "users",
		Short: "List a tenant's users with the licenses they hold and wait for",
		Example: `  allot users --tenant 7c1e… --search ann
  allot users --tenant 7c1e… --json --top 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if top < 0 {
				return usageError{fmt.Errorf("--top must be 0 (all) or more")}
			}
			term := strings.ToLower(search)
			var rows []userRow
			err := f.read(cmd, func(s *tenant.State) error {
				s.Engine.ForEachUser(func(u *licensing.User) bool {
					if term != "" && !strings.Contains(strings.ToLower(u.UserPrincipalName), term) && !strings.Contains(strings.ToLower(u.DisplayName), term) {
						return true
					}
					r := userRow{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, UsageLocation: u.UsageLocation,
						AccountEnabled: u.AccountEnabled, Licenses: []string{}, Waiting: []string{}}
					for _, l := range s.Engine.Licenses(u.ID) {
						switch {
						case l.Held:
							r.Licenses = append(r.Licenses, partNumber(s, l.SKUID))
						case l.Claimed:
							r.Waiting = append(r.Waiting, partNumber(s, l.SKUID))
						}
					}
					rows = append(rows, r)
					return true
				})
				return nil
			})
			if err != nil {
				return err
			}
			slices.SortFunc(rows, func(a, b userRow) int { return strings.Compare(a.UserPrincipalName, b.UserPrincipalName) })
			if top > 0 && len(rows) > top {
				rows = rows[:top]
			}
			if f.asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER PRINCIPAL NAME\tDISPLAY NAME\tLOCATION\tLICENSES\tWAITING FOR")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.UserPrincipalName, r.DisplayName, r.UsageLocation, strings.Join(r.Licenses, " "), strings.Join(r.Waiting, " "))
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&search, "search", "", "only users whose userPrincipalName or display name contains this (case-insensitive)")
	cmd.Flags().IntVar(&top, "top", 0, "at most this many users (0: all)")
	return cmd
}

// skuRow is a line of allot licenses.
type skuRow struct {
	SKUID            string `json:"skuId"`
	SKUPartNumber    string `json:"skuPartNumber"`
	DisplayName      string `json:"displayName"`
	CapabilityStatus string `json:"capabilityStatus"`
	Units            int    `json:"units"`
	Assignable       int    `json:"assignableUnits"`
	Consumed         int    `json:"consumedUnits"`
	Allotted         int    `json:"allottedUnits"`
	Waiting          int    `json:"waiting"`
}

// userLicenseRow is a line of allot licenses --user.
type userLicenseRow struct {
	SKUPartNumber string                  `json:"skuPartNumber"`
	AllotmentID   string                  `json:"allotmentId,omitempty"`
	Held          bool                    `json:"held"`
	Waiting       bool                    `json:"waiting"`
	Sources       []licensing.SourceState `json:"sources"`
}

func newLicensesCmd() *cobra.Command {
	var f readFlags
	var user string
	cmd := &cobra.Command{
		Use:   "licenses",
		Short: "A tenant's products and seats, or one user's licenses and where they come from",
		Example: `  allot licenses --tenant 7c1e…
  allot licenses --tenant 7c1e… --user ann@contoso.example`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if user != "" {
				var rows []userLicenseRow
				groups := map[string]string{}
				err := f.read(cmd, func(s *tenant.State) error {
					u, err := findUser(s, user)
					if err != nil {
						return err
					}
					for _, l := range s.Engine.Licenses(u.ID) {
						rows = append(rows, userLicenseRow{SKUPartNumber: partNumber(s, l.SKUID), AllotmentID: l.AllotmentID, Held: l.Held, Waiting: l.Waiting(), Sources: l.Sources})
						for _, src := range l.Sources {
							if g, ok := s.Engine.Group(src.AssignedByGroup); ok {
								groups[g.ID] = g.DisplayName
							}
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
				if f.asJSON {
					return printJSON(cmd.OutOrStdout(), rows)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PRODUCT\tSEAT\tSOURCE\tSTATE\tERROR")
				for _, r := range rows {
					seat := "none"
					switch {
					case r.Held:
						seat = "held"
					case r.Waiting:
						seat = "waiting"
					}
					if r.AllotmentID != "" {
						seat += " (allotment " + r.AllotmentID + ")"
					}
					for _, src := range r.Sources {
						from := "direct"
						if src.AssignedByGroup != "" {
							from = "group " + groups[src.AssignedByGroup]
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.SKUPartNumber, seat, from, src.State, src.Error)
					}
				}
				return tw.Flush()
			}
			var rows []skuRow
			err := f.read(cmd, func(s *tenant.State) error {
				for _, p := range s.Engine.Pools() {
					rows = append(rows, skuRow{SKUID: p.SKU.ID, SKUPartNumber: p.SKU.PartNumber, DisplayName: p.SKU.DisplayName, CapabilityStatus: p.Units.Status,
						Units: p.Units.Total(), Assignable: p.Units.Assignable(), Consumed: p.Consumed, Allotted: p.Allotted, Waiting: p.Waiting})
				}
				return nil
			})
			if err != nil {
				return err
			}
			slices.SortFunc(rows, func(a, b skuRow) int { return strings.Compare(a.SKUPartNumber, b.SKUPartNumber) })
			if f.asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "PRODUCT\tSTATUS\tUNITS\tASSIGNABLE\tCONSUMED\tALLOTTED\tWAITING\t")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", r.SKUPartNumber, r.CapabilityStatus, r.Units, r.Assignable, r.Consumed, r.Allotted, r.Waiting)
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&user, "user", "", "a user's id or userPrincipalName: list that user's licenses and their sources")
	return cmd
}

func newAllotmentsCmd() *cobra.Command {
	var f readFlags
	cmd := &cobra.Command{
		Use:     "allotments",
		Short:   "List a tenant's allotments: product, units allotted and consumed, waiting, owners",
		Example: `  allot allotments --tenant 7c1e…`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			type row struct {
				licensing.AllotmentInfo
				SKUPartNumber string `json:"skuPartNumber"`
			}
			var rows []row
			err := f.read(cmd, func(s *tenant.State) error {
				for _, a := range s.Engine.Allotments() {
					rows = append(rows, row{a, partNumber(s, a.SKUID)})
				}
				return nil
			})
			if err != nil {
				return err
			}
			slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.DisplayName, b.DisplayName) })
			if f.asJSON {
				if rows == nil {
					rows = []row{}
				}
				return printJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPRODUCT\tALLOTTED\tCONSUMED\tWAITING\tOWNERS")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.DisplayName, r.SKUPartNumber, r.AllottedUnits, r.ConsumedUnits, r.Waiting, strings.Join(r.Owners, " "))
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	return cmd
}

func newExplainCmd() *cobra.Command {
	var f readFlags
	cmd := &cobra.Command{
		Use:   "explain USER PRODUCT",
		Short: "Explain why a user has (or has not) a license: seat, waiting room, each source's state and reason",
		Long: `Explain a user's license for a product, source by source, as
GET /allot/v1/users/{id}/licenses/{skuId}/explain answers it. USER is an id
or a userPrincipalName; PRODUCT a skuId or a part number (SPE_E3).`,
		Example: `  allot explain --tenant 7c1e… ann@contoso.example SPE_E3`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var x licensing.Explanation
			err := f.read(cmd, func(s *tenant.State) error {
				u, err := findUser(s, args[0])
				if err != nil {
					return err
				}
				x, err = s.Engine.Explain(u.ID, args[1])
				return err
			})
			if err != nil {
				return err
			}
			if f.asJSON {
				return printJSON(cmd.OutOrStdout(), x)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s — %s\n%s\n\n", x.UserPrincipalName, x.SKUPartNumber, x.Summary)
			seat := "no seat"
			switch {
			case x.HoldsSeat && x.HeldSince != nil:
				seat = "holds a seat since " + x.HeldSince.UTC().Format("2006-01-02 15:04 MST")
			case x.HoldsSeat:
				seat = "holds a seat"
			case x.Waiting:
				seat = "waiting: " + strconv.Itoa(x.WaitingPosition) + " of " + strconv.Itoa(x.WaitingCount)
			}
			fmt.Fprintf(w, "Seat:            %s\n", seat)
			fmt.Fprintf(w, "Product seats:   %d enabled, %d consumed, %d free (%s)\n", x.Seats.Enabled, x.Seats.Consumed, x.Seats.Free, x.CapabilityStatus)
			fmt.Fprintf(w, "Usage location:  %s (%s)\n", x.UsageLocation, x.UsageLocationSource)
			if len(x.EnabledPlans) > 0 {
				fmt.Fprintf(w, "Enabled plans:   %d (--json lists them)\n", len(x.EnabledPlans))
			}
			if len(x.Sources) > 0 {
				fmt.Fprintln(w, "\nSources:")
				tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				for _, src := range x.Sources {
					reason := src.Reason
					if src.Error != "" && src.Error != "None" {
						reason = src.Error + ": " + reason
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\n", src.Via, src.State, reason)
				}
				_ = tw.Flush()
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
