package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/alert"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// allot alerts: a tenant's alert rules and endpoints (package alert), its
// alerts, queued notifications and delivery logs, on the database as the
// other offline commands. The running server evaluates and delivers; a
// test notification and a retry go through its API.
func init() {
	alerts := &cobra.Command{Use: "alerts", Short: "Alert rules, endpoints, alerts and deliveries of a tenant"}
	f := &alertFlags{}
	alerts.AddCommand(f.rulesCmd(), f.endpointsCmd(), f.listCmd(), f.jobsCmd(), f.deliveriesCmd())
	rootCmd.AddCommand(alerts)
	inUseHints["allot alerts rules put"] = "PUT /allot/v1/alerts/rules/{id}"
	inUseHints["allot alerts rules delete"] = "DELETE /allot/v1/alerts/rules/{id}"
	inUseHints["allot alerts endpoints put"] = "PUT /allot/v1/alerts/endpoints/{id}"
	inUseHints["allot alerts endpoints delete"] = "DELETE /allot/v1/alerts/endpoints/{id}"
}

// alertFlags are the flags every allot alerts command takes (common adds
// them), shared by the commands as one set.
type alertFlags struct {
	db, tenantID string
	asJSON       bool
}

// common adds --db, --tenant and --json to c.
func (f *alertFlags) common(c *cobra.Command) *cobra.Command {
	c.Flags().StringVar(&f.db, "db", defaultDB, "SQLite file path or postgres:// URL")
	c.Flags().StringVar(&f.tenantID, "tenant", "", "tenant id")
	c.Flags().BoolVar(&f.asJSON, "json", false, "print JSON")
	return c
}

// need is a usage error when --tenant is missing.
func (f *alertFlags) need() error {
	if f.tenantID == "" {
		return usageError{fmt.Errorf("--tenant is required")}
	}
	return nil
}

// alertCLIOp is the operation the offline alert commands commit as on t.
func alertCLIOp(t *tenant.Tenant) licensing.Op { return licensing.Op{Actor: "allot CLI", Now: t.Now()} }

// rulesCmd is allot alerts rules: list, put and delete.
func (f *alertFlags) rulesCmd() *cobra.Command {
	rules := &cobra.Command{Use: "rules", Short: "List, put or delete alert rules"}
	rules.AddCommand(f.common(&cobra.Command{
		Use: "list", Short: "List the tenant's alert rules", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.need(); err != nil {
				return err
			}
			return withTenantReadOnly(cmd.Context(), f.db, f.tenantID, func(t *tenant.Tenant) error {
				var rs []alert.Rule
				var err error
				t.Read(func(s *tenant.State) { rs, err = alert.Rules(s) })
				if err != nil {
					return err
				}
				if f.asJSON {
					return printJSON(cmd.OutOrStdout(), rs)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tCONDITION\tENDPOINTS\tNAME")
				for _, r := range rs {
					fmt.Fprintf(w, "%s\t%s\t%v\t%s\n", r.ID, r.Condition, r.Endpoints, r.DisplayName)
				}
				return w.Flush()
			})
		},
	}))
	rules.AddCommand(f.common(&cobra.Command{
		Use:   "put FILE",
		Short: "Create or replace an alert rule from a JSON file (- for standard input)",
		Long: `Create or replace an alert rule from JSON, the body of
PUT /allot/v1/alerts/rules/{id}: id, displayName, condition (licenseErrors,
waitingTooLong, freeSeatsLow, allotmentFull, subscriptionEnding,
subscriptionRenewing, idleSeatsCost, underLicensedUsers, operationFailed),
its parameters, endpoints, quietMinutes, repeatMinutes, maxRepeats.`,
		Example: `  echo '{"id":"errors","condition":"licenseErrors","errors":["DependencyViolation"],"endpoints":["ops"]}' | allot alerts rules put --tenant 7c1e… -`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.need(); err != nil {
				return err
			}
			var r alert.Rule
			if err := readJSONArg(cmd, args[0], &r); err != nil {
				return err
			}
			if err := r.Validate(); err != nil {
				return err
			}
			return withTenant(cmd.Context(), f.db, f.tenantID, func(t *tenant.Tenant) error {
				if err := t.Do(cmd.Context(), alertCLIOp(t), func(tx *tenant.Tx) error { return alert.PutRule(tx, r) }); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "alert rule %s stored\n", r.ID)
				return nil
			})
		},
	}))
	rules.AddCommand(f.common(&cobra.Command{
		Use: "delete ID", Short: "Delete an alert rule", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.need(); err != nil {
				return err
			}
			return withTenant(cmd.Context(), f.db, f.tenantID, func(t *tenant.Tenant) error {
				return t.Do(cmd.Context(), alertCLIOp(t), func(tx *tenant.Tx) error { return alert.DeleteRule(tx, args[0]) })
			})
		},
	}))
	return rules
}

// endpointsCmd is allot alerts endpoints: list, put and delete.
func (f *alertFlags) endpointsCmd() *cobra.Command {
	endpoints := &cobra.Command{Use: "endpoints", Short: "List, put or delete alert endpoints"}
	endpoints.AddCommand(f.common(&cobra.Command{
		Use: "list", Short: "List the tenant's alert endpoints (without secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.need(); err != nil {
				return err
			}
			return withTenantReadOnly(cmd.Context(), f.db, f.tenantID, func(t *tenant.Tenant) error {
				var eps []alert.Endpoint
				var err error
				t.Read(func(s *tenant.State) { eps, err = alert.Endpoints(s) })
				if err != nil {
					return err
				}
				for i := range eps {
					eps[i].Secret = ""
				}
				if f.asJSON {
					return printJSON(cmd.OutOrStdout(), eps)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tTYPE\tTARGET\tNAME")
				for _, e := range eps {
					target := e.URL
					if e.Type == alert.Email {
						target = fmt.Sprint(e.To)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.ID, e.Type, target, e.DisplayName)
				}
				return w.Flush()
			})
		},
	}))
	endpoints.AddCommand(f.common(&cobra.Command{
		Use:   "put FILE",
		Short: "Create or replace an alert endpoint from a JSON file (- for standard input)",
		Long: `Create or replace an alert endpoint from JSON (id, displayName, type webhook,
slack, teams or email, url or to, secret). A new webhook endpoint without a
secret gets one, printed once; a replaced one keeps its secret.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.need(); err != nil {
				return err
			}
			var e alert.Endpoint
			if err := readJSONArg(cmd, args[0], &e); err != nil {
				return err
			}
			if err := e.Validate(); err != nil {
				return err
			}
			var b [32]byte
			_, _ = rand.Read(b[:])
			generated := "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
			shown := ""
			return withTenant(cmd.Context(), f.db, f.tenantID, func(t *tenant.Tenant) error {
				err := t.Do(cmd.Context(), alertCLIOp(t), func(tx *tenant.Tx) error {
					if old, ok := alert.EndpointOf(tx.State, e.ID); e.Type == alert.Webhook && e.Secret == "" && (!ok || old.Secret == "") {
						e.Secret, shown = generated, generated
					}
					return alert.PutEndpoint(tx, e)
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "alert endpoint %s stored\n", e.ID)
				if shown != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "secret (shown once; receivers verify %s with it): %s\n", alert.HeaderSignature, shown)
				}
				return nil
			})
		},
	}))
	endpoints.AddCommand(f.common(&cobra.Command{
		Use: "delete ID", Short: "Delete an alert endpoint no rule sends to", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.need(); err != nil {
				return err
			}
			return withTenant(cmd.Context(), f.db, f.tenantID, func(t *tenant.Tenant) error {
				return t.Do(cmd.Context(), alertCLIOp(t), func(tx *tenant.Tx) error { return alert.DeleteEndpoint(tx, args[0]) })
			})
		},
	}))
	return endpoints
}

// listCmd is allot alerts list: the tenant's alerts, open and resolved.
func (f *alertFlags) listCmd() *cobra.Command {
	return f.common(&cobra.Command{
		Use: "list", Short: "List the tenant's alerts, open and resolved", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.need(); err != nil {
				return err
			}
			return withAlertStore(cmd, f.db, func(as store.AlertStore) error {
				states, err := as.AlertStates(cmd.Context(), f.tenantID)
				if err != nil {
					return err
				}
				if f.asJSON {
					return printJSON(cmd.OutOrStdout(), states)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "RULE\tSUBJECT\tSTATUS\tOPENED\tSUMMARY")
				for _, a := range states {
					status := "open"
					if !a.Open {
						status = "resolved " + a.ResolvedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", a.RuleID, a.Subject, status, a.OpenedAt.Format(time.RFC3339), a.Summary)
				}
				return w.Flush()
			})
		},
	})
}

// jobsCmd is allot alerts jobs: the queued notifications.
func (f *alertFlags) jobsCmd() *cobra.Command {
	var state string
	jobs := f.common(&cobra.Command{
		Use: "jobs", Short: "List the tenant's queued notifications (--state dead: the dead-letter list)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.need(); err != nil {
				return err
			}
			if state != "" && state != store.JobPending && state != store.JobDone && state != store.JobDead {
				return usageError{fmt.Errorf("--state must be pending, done or dead")}
			}
			return withAlertStore(cmd, f.db, func(as store.AlertStore) error {
				js, err := as.AlertJobs(cmd.Context(), f.tenantID, state, 1000)
				if err != nil {
					return err
				}
				if f.asJSON {
					return printJSON(cmd.OutOrStdout(), js)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "JOB\tENDPOINT\tSTATE\tATTEMPTS\tCREATED\tLAST ERROR")
				for _, j := range js {
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", j.ID, j.EndpointID, j.State, j.Attempts, j.CreatedAt.Format(time.RFC3339), j.LastError)
				}
				return w.Flush()
			})
		},
	})
	jobs.Flags().StringVar(&state, "state", "", "pending, done or dead")
	return jobs
}

// deliveriesCmd is allot alerts deliveries: an endpoint's delivery log.
func (f *alertFlags) deliveriesCmd() *cobra.Command {
	return f.common(&cobra.Command{
		Use: "deliveries ENDPOINT", Short: "Show an endpoint's delivery log, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.need(); err != nil {
				return err
			}
			return withAlertStore(cmd, f.db, func(as store.AlertStore) error {
				log, err := as.AlertAttempts(cmd.Context(), f.tenantID, args[0], 1000)
				if err != nil {
					return err
				}
				if f.asJSON {
					return printJSON(cmd.OutOrStdout(), log)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "AT\tJOB\tATTEMPT\tOK\tSTATUS\tMS\tERROR")
				for _, a := range log {
					fmt.Fprintf(w, "%s\t%s\t%d\t%t\t%d\t%d\t%s\n", a.At.Format(time.RFC3339), a.JobID, a.Attempt, a.OK, a.Status, a.Millis, a.Error)
				}
				return w.Flush()
			})
		},
	})
}

// withAlertStore runs fn on the database's alert tables, read-only.
func withAlertStore(cmd *cobra.Command, db string, fn func(store.AlertStore) error) error {
	st, err := openStoreReadOnly(cmd.Context(), db)
	if err != nil {
		return err
	}
	defer st.Close()
	as, ok := store.AlertsOf(st)
	if !ok {
		return fmt.Errorf("this database keeps no alerts")
	}
	return fn(as)
}

// readJSONArg decodes a JSON file (- for standard input), strictly.
func readJSONArg(cmd *cobra.Command, name string, v any) error {
	var r io.Reader
	if name == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return allot.Errorf(allot.EINVALID, "%s is not a valid JSON body: %v", name, err)
	}
	return nil
}
