package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"allot/position"
	"allot/tenant"
	"allot/usage"
	"allot/whatif"
)

// allot whatif FILE: try commands on a copy of a tenant, offline, and
// print what would change — the same answer as POST /allot/v1/whatif.

func init() { rootCmd.AddCommand(newWhatIfCmd()) }

func newWhatIfCmd() *cobra.Command {
	var db, tenantID, asOf, cpuprofile string
	var window int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "whatif FILE",
		Short: "Try commands on a copy of a tenant and show who gains, loses or starts waiting, errors, seats and cost",
		Long: `Try a list of commands on a copy of a tenant — nothing is changed — and print the
difference: who gains or loses a license, who starts waiting for a seat, which
license errors appear, and the seats and monthly cost per product before and
after (costs at the tenant's price list).

FILE is the body of POST /allot/v1/whatif: {"commands":[…]} (or a JSON array of
commands), each one of
  {"op":"setGroupLicenses","groupId":…,"addLicenses":[{"skuId":"SPE_E5"}],"removeLicenses":["SPE_E3"]}
  {"op":"setUserLicenses","userId":…,"addLicenses":[…],"removeLicenses":[…]}
  {"op":"changeUnits","sku":"SPE_E3","by":-50}
  {"op":"putAllotment","allotment":{"id":…,"displayName":…,"skuId":…,"allottedUnits":10}}
  {"op":"setMembershipRule","groupId":…,"membershipRule":"user.department -eq \"Sales\""}
  {"op":"setSettings","settings":{"excludeGuestsFromGroupLicensing":true}}
  {"op":"applyFixes","kinds":["idle","neverActivated"]}   (kinds optional: every fix)
Commands run in order; a refused one is reported with its error and changes
nothing.`,
		Example: `  allot whatif --tenant 7c1e… move-sales-to-e5.json
  allot whatif --tenant 7c1e… --json fixes.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantID == "" {
				return usageError{fmt.Errorf("--tenant is required")}
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
			body, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			cmds, err := readWhatIf(body)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := whatif.Check(cmds); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			ctx := cmd.Context()
			n := 0
			newID := func() string { n++; return fmt.Sprintf("whatif-%d", n) }
			whatif.Prepare(cmds, newID)
			var res *whatif.Result
			start := time.Now()
			err = withTenantReadOnly(ctx, db, tenantID, func(t *tenant.Tenant) error {
				start = time.Now()
				now := t.Now()
				if asOf == "" {
					day = usage.DayOf(now)
				}
				if cpuprofile != "" {
					f, err := os.Create(cpuprofile)
					if err != nil {
						return err
					}
					defer f.Close()
					if err := pprof.StartCPUProfile(f); err != nil {
						return err
					}
					defer pprof.StopCPUProfile()
				}
				var err error
				t.Read(func(s *tenant.State) {
					res, _, err = whatif.Try(s, cmds, whatif.Options{AsOf: day, WindowDays: window, Now: now, Actor: "allot whatif (CLI)", NewID: newID})
				})
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "tried on a copy of the tenant in %s\n", time.Since(start).Round(time.Millisecond))
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			printWhatIf(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant id (required)")
	cmd.Flags().StringVar(&asOf, "as-of", "", "the day the position's fixes are computed for, YYYY-MM-DD (default today)")
	cmd.Flags().IntVar(&window, "window", position.DefaultWindowDays, "usage window in days (1-90) for the position's fixes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as POST /allot/v1/whatif gives it")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the what-if (after loading the tenant) to this file")
	return cmd
}

// readWhatIf reads {"commands":[…]} or a JSON array of commands.
func readWhatIf(body []byte) ([]whatif.Command, error) {
	trim := strings.TrimSpace(strings.TrimPrefix(string(body), "\ufeff"))
	var cmds []whatif.Command
	if strings.HasPrefix(trim, "[") {
		if err := json.Unmarshal([]byte(trim), &cmds); err != nil {
			return nil, fmt.Errorf("not a JSON array of commands: %v", err)
		}
		return cmds, nil
	}
	var doc struct {
		Commands []whatif.Command `json:"commands"`
	}
	if err := json.Unmarshal([]byte(trim), &doc); err != nil {
		return nil, fmt.Errorf("not a {\"commands\":[…]} document: %v", err)
	}
	return doc.Commands, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func printWhatIf(w io.Writer, r *whatif.Result) {
	for i, o := range r.Commands {
		c := o.Command
		what := c.Op
		for _, s := range []string{c.GroupID, c.UserID, c.SKU} {
			if s != "" {
				what += " " + s
			}
		}
		if c.Op == whatif.OpChangeUnits {
			what += fmt.Sprintf(" by %+d", c.By)
		}
		switch {
		case o.Error != nil:
			fmt.Fprintf(w, "%3d. %s: refused (%s): %s\n", i+1, what, o.Error.Code, o.Error.Message)
		case c.Op == whatif.OpApplyFixes:
			fmt.Fprintf(w, "%3d. %s: %s apply, %d refused\n", i+1, what, plural(o.Applied, "change", "changes"), o.Refused)
		default:
			fmt.Fprintf(w, "%3d. %s\n", i+1, what)
		}
	}
	for i, o := range r.RefusedFixes {
		if i == 20 {
			fmt.Fprintf(w, "     … more refused (see --json)\n")
			break
		}
		fmt.Fprintf(w, "     refused %s %s%s: %s\n", o.Command.Op, o.Command.UserID, o.Command.SKU, o.Error.Message)
	}
	if r.SkippedCount > len(r.Skipped) {
		fmt.Fprintf(w, "     … %d skipped in all (see --json)\n", r.SkippedCount)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "     skipped %s %s %s: %s\n", s.Kind, s.UserID, s.SKU, s.Reason)
	}
	list := func(title string, n int, cs []whatif.Change) {
		fmt.Fprintf(w, "%s: %d\n", title, n)
		for i, c := range cs {
			if i == 20 {
				fmt.Fprintf(w, "  … %d more (see --json)\n", n-20)
				break
			}
			line := "  " + c.UserPrincipalName + " " + c.SKUPartNumber
			if c.Error != "" {
				src := "direct"
				if c.AssignedByGroup != "" {
					src = "group " + c.AssignedByGroup
				}
				line += " (" + src + "): " + c.Error
			}
			fmt.Fprintln(w, line)
		}
	}
	list("Gain a license", r.GainsCount, r.Gains)
	list("Lose a license", r.LossesCount, r.Losses)
	list("Start waiting for a seat", r.StartsCount, r.StartsWaiting)
	list("New license errors", r.ErrorsCount, r.Errors)
	if r.StopsWaiting > 0 || r.ErrorsResolved > 0 {
		fmt.Fprintf(w, "%s stop waiting; %s resolved\n", plural(r.StopsWaiting, "user", "users"), plural(r.ErrorsResolved, "error", "errors"))
	}
	money := func(v *float64) string {
		if v == nil || r.Currency == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f %s", *v, *r.Currency)
	}
	fmt.Fprintf(w, "%-28s %15s %15s %15s\n", "Product", "owned", "assigned", "monthly cost")
	after := map[string]whatif.Seats{}
	for _, s := range r.After.SKUs {
		after[s.SKUID] = s
	}
	seen := map[string]bool{}
	row := func(part string, b, a whatif.Seats) {
		fmt.Fprintf(w, "%-28s %15s %15s %15s\n", part, fmt.Sprintf("%d → %d", b.Owned, a.Owned), fmt.Sprintf("%d → %d", b.Assigned, a.Assigned),
			money(b.MonthlyCost)+" → "+money(a.MonthlyCost))
	}
	for _, b := range r.Before.SKUs {
		seen[b.SKUID] = true
		row(b.SKUPartNumber, b, after[b.SKUID])
	}
	for _, a := range r.After.SKUs {
		if !seen[a.SKUID] {
			row(a.SKUPartNumber, whatif.Seats{}, a)
		}
	}
	bt, at := r.Before.Totals, r.After.Totals
	fmt.Fprintf(w, "%-28s %15s %15s %15s\n", "Total", fmt.Sprintf("%d → %d", bt.Owned, at.Owned), fmt.Sprintf("%d → %d", bt.Assigned, at.Assigned),
		money(bt.MonthlyCost)+" → "+money(at.MonthlyCost))
}
