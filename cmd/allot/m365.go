package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"allot/auth"
	"allot/licensing"
	"allot/m365"
	"allot/tenant"
)

// allot m365: Microsoft 365 connections on a stopped database (while
// allot serve runs, the same through /allot/v1/connections).
func init() {
	m365Cmd := &cobra.Command{Use: "m365", Short: "Connect a tenant to Microsoft 365: sync the directory and licenses in, plan and apply licenses out"}
	var db, tenantID, keyFile string
	var asJSON bool
	common := func(c *cobra.Command) *cobra.Command {
		c.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
		c.Flags().StringVar(&tenantID, "tenant", "", "tenant id")
		c.Flags().StringVar(&keyFile, "secret-key-file", "", "file with the key connection secrets are encrypted with (default: $"+m365.KeyEnv+")")
		c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		return c
	}
	env := func(rt *tenant.Runtime) (*m365.Env, error) {
		sealer, err := m365.SealerFromEnv(keyFile)
		if err != nil {
			return nil, usageError{err}
		}
		return &m365.Env{Sealer: sealer, RT: rt, Options: m365ClientOptions}, nil
	}
	run := func(cmd *cobra.Command, fn func(rt *tenant.Runtime, t *tenant.Tenant, e *m365.Env) error) error {
		if tenantID == "" {
			return usageError{fmt.Errorf("--tenant is required")}
		}
		ctx := cmd.Context()
		st, err := openStore(ctx, db)
		if err != nil {
			return err
		}
		defer st.Close()
		return onTenant(ctx, st, tenantID, func(rt *tenant.Runtime, t *tenant.Tenant) error {
			e, err := env(rt)
			if err != nil {
				return err
			}
			return fn(rt, t, e)
		})
	}

	var in m365.Input
	var secretFile, certFile, syncEvery, reportsEvery string
	connect := common(&cobra.Command{
		Use:   "connect",
		Short: "Connect the tenant to a Microsoft Entra tenant through an app registration",
		Long: `Store a connection: the Microsoft Entra tenant, the app registration's client id
and its credential — a client secret (read from --client-secret-file or
$ALLOT_M365_CLIENT_SECRET, never from the command line) or a certificate with its
private key (--client-certificate-file: PEM, or a .pfx whose password is in
$ALLOT_M365_CERTIFICATE_PASSWORD), or the platform's workload identity
(--workload-identity: the federated token in $AZURE_FEDERATED_TOKEN_FILE, as
Azure Kubernetes Service provides it) — and where Graph and the authority are. The
secret or private key is encrypted with the secret key ($` + m365.KeyEnv + ` or
--secret-key-file); without a key nothing is stored. Read-only permissions are enough to sync
(User.Read.All, Group.Read.All, Directory.Read.All, AuditLog.Read.All);
--apply also needs LicenseAssignment.ReadWrite.All.`,
		Example: `  ALLOT_M365_CLIENT_SECRET=… allot m365 connect --tenant 7c1e… --entra-tenant contoso.onmicrosoft.com --client-id 0f1e…
  allot m365 connect --tenant 7c1e… --entra-tenant 72f9… --client-id 0f1e… --client-secret-file app.secret --apply --sync-every 30m
  ALLOT_M365_CERTIFICATE_PASSWORD=… allot m365 connect --tenant 7c1e… --entra-tenant 72f9… --client-id 0f1e… --client-certificate-file app.pfx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := connectInput(cmd, &in, secretFile, certFile, syncEvery, reportsEvery); err != nil {
				return err
			}
			return run(cmd, func(rt *tenant.Runtime, t *tenant.Tenant, e *m365.Env) error {
				now := rt.Now().UTC()
				c, err := m365.NewConnection(in, auth.NewID(), e.Sealer, now)
				if err != nil {
					return err
				}
				err = t.Do(cmd.Context(), licensing.Op{Actor: "allot CLI", Now: now, Why: "create Microsoft 365 connection"}, func(tx *tenant.Tx) error {
					return m365.Put(tx, c)
				})
				if err != nil {
					return err
				}
				return printView(cmd.OutOrStdout(), c.View(t.ID, m365.SyncState{}), asJSON)
			})
		},
	})
	connect.Flags().StringVar(&in.EntraTenantID, "entra-tenant", "", "the Microsoft Entra tenant id or domain")
	connect.Flags().StringVar(&in.ClientID, "client-id", "", "the app registration's application (client) id")
	connect.Flags().StringVar(&secretFile, "client-secret-file", "", "file holding the client secret")
	connect.Flags().StringVar(&certFile, "client-certificate-file", "", "file holding the certificate with its private key (PEM, or .pfx with $ALLOT_M365_CERTIFICATE_PASSWORD)")
	connect.Flags().BoolVar(&in.WorkloadIdentity, "workload-identity", false, "sign in with the platform's workload identity (the federated token file $"+m365.FederatedTokenFileEnv+" names; nothing secret is stored)")
	connect.Flags().BoolVar(&in.SendCertificateChain, "send-certificate-chain", false, "send the certificate chain with token requests (subject name/issuer authentication)")
	connect.Flags().StringVar(&in.GraphURL, "graph-url", "", "Microsoft Graph's base URL (default "+m365.DefaultGraphURL+"; national clouds differ)")
	connect.Flags().StringVar(&in.AuthorityHost, "authority-host", "", "the Entra authority host (default "+m365.DefaultAuthorityHost+")")
	connect.Flags().BoolVar(&in.Apply, "apply", false, "allow allot m365 apply to assign licenses in Microsoft 365")
	connect.Flags().StringVar(&in.DisplayName, "name", "", "a display name")
	connect.Flags().StringVar(&syncEvery, "sync-every", "1h", "how often allot serve syncs the directory (0: never)")
	connect.Flags().StringVar(&reportsEvery, "reports-every", "24h", "how often allot serve imports the usage reports (0: never)")

	list := common(&cobra.Command{
		Use: "list", Short: "List the tenant's connections and their last sync", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, func(rt *tenant.Runtime, t *tenant.Tenant, e *m365.Env) error {
				var views []m365.View
				t.Read(func(s *tenant.State) {
					for _, c := range m365.List(s) {
						views = append(views, c.View(t.ID, m365.State(s, c.ID)))
					}
				})
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(views)
				}
				for _, v := range views {
					if err := printView(cmd.OutOrStdout(), v, false); err != nil {
						return err
					}
				}
				return nil
			})
		},
	})

	test := common(&cobra.Command{
		Use: "test CONNECTION", Short: "Get a token and read subscribedSkus through a connection", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, func(rt *tenant.Runtime, t *tenant.Tenant, e *m365.Env) error {
				n, err := m365.Test(cmd.Context(), t, e, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "connection %s works: %d products in subscribedSkus\n", args[0], n)
				return nil
			})
		},
	})

	syncCmd := common(&cobra.Command{
		Use:   "sync CONNECTION",
		Short: "Sync users, groups, members, licenses and products from Microsoft 365",
		Long: `Read the Microsoft tenant's directory and licenses and apply them to the allot
tenant: a full sync the first time, applied page by page with its stored
cursor, then the changes since the last one (Graph delta queries), applied
as one command. A stopped delta sync leaves the tenant as after the
previous one; a stopped full sync keeps the pages it applied. Run it
again: it goes on from where it stopped.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, func(rt *tenant.Runtime, t *tenant.Tenant, e *m365.Env) error {
				bar := newProgress(cmd.ErrOrStderr(), -1, progressbar.OptionSetDescription("syncing"), progressbar.OptionSpinnerType(14))
				p := &m365.Progress{OnChange: func(v m365.ProgressView) {
					bar.Describe(fmt.Sprintf("%s: %d users, %d groups read, %d requests (%d throttled)", v.Phase, v.Users, v.Groups, v.Requests, v.Throttled))
				}}
				res, err := m365.Sync(cmd.Context(), t, e, args[0], p, "allot CLI")
				if err != nil {
					bar.endLine()
					return err
				}
				bar.Done()
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
				}
				kind := res.Kind
				if res.Resumed {
					kind += " (resumed)"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s sync: %d users and %d groups read; %d removed; imported %d users, %d groups, %d memberships, %d licenses\n",
					kind, res.Users, res.Groups, res.Removed, res.Imported.Users, res.Imported.Groups, res.Imported.Members, res.Imported.Licenses)
				return nil
			})
		},
	})

	reportsCmd := common(&cobra.Command{
		Use:   "reports CONNECTION",
		Short: "Import Microsoft 365's usage reports (and read its concealed-names setting)",
		Long: `Read the Microsoft tenant's report settings and the usage reports allot's
usage importer understands (period D7), and import each into the tenant's
usage as allot import usage does. A report imported before (same type and
refresh date) changes nothing. While Microsoft 365 conceals user names in
reports (displayConcealedNames), rows match only through the tenant's
concealed-name mapping. allot serve runs this daily (--reports-every).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, func(rt *tenant.Runtime, t *tenant.Tenant, e *m365.Env) error {
				res, err := m365.SyncReports(cmd.Context(), t, e, args[0], nil, "allot CLI")
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
				}
				for _, r := range res.Reports {
					switch {
					case r.Skipped != "":
						fmt.Fprintf(cmd.OutOrStdout(), "%s: skipped: %s\n", r.Report, r.Skipped)
					case r.Duplicate:
						fmt.Fprintf(cmd.OutOrStdout(), "%s %s: imported before\n", r.Report, r.RefreshDate)
					default:
						fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %d rows, %d accepted, %d unmatched, %d concealed\n", r.Report, r.RefreshDate, r.Rows, r.Accepted, r.Unmatched, r.Concealed)
					}
				}
				return nil
			})
		},
	})

	planCmd := common(&cobra.Command{
		Use: "plan CONNECTION", Short: "List the assignLicense calls that bring Microsoft 365 to allot's decision", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, func(rt *tenant.Runtime, t *tenant.Tenant, e *m365.Env) error {
				p, err := m365.Plan(cmd.Context(), t, e, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(p)
				}
				printCalls(cmd.OutOrStdout(), p.Calls)
				if len(p.Calls) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "nothing to do: Microsoft 365 matches allot's decision")
				}
				return nil
			})
		},
	})

	applyCmd := common(&cobra.Command{
		Use: "apply CONNECTION", Short: "Run the planned assignLicense calls (each audited; stops at the first refusal)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, func(rt *tenant.Runtime, t *tenant.Tenant, e *m365.Env) error {
				res, err := m365.Apply(cmd.Context(), t, e, args[0], "allot CLI")
				if err != nil {
					return err
				}
				if asJSON {
					if err := json.NewEncoder(cmd.OutOrStdout()).Encode(res); err != nil {
						return err
					}
				} else {
					printCalls(cmd.OutOrStdout(), res.Applied)
					fmt.Fprintf(cmd.OutOrStdout(), "applied %d calls\n", len(res.Applied))
				}
				if res.Stopped != nil {
					return errors.New("Microsoft 365 refused the call for " + res.Stopped.UserPrincipalName + ": " + res.Error + " (nothing after it was sent)")
				}
				return nil
			})
		},
	})

	deleteCmd := common(&cobra.Command{
		Use: "delete CONNECTION", Short: "Delete a connection (the synced users and groups stay, as allot's own)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, func(rt *tenant.Runtime, t *tenant.Tenant, e *m365.Env) error {
				return t.Do(cmd.Context(), licensing.Op{Actor: "allot CLI", Now: rt.Now().UTC(), Why: "delete Microsoft 365 connection"}, func(tx *tenant.Tx) error {
					return m365.Delete(tx, args[0])
				})
			})
		},
	})
	// Each subcommand has its own flags; reset shared values between runs
	// in one process (tests) is not needed: cobra parses every run.
	m365Cmd.AddCommand(connect, list, test, syncCmd, reportsCmd, planCmd, applyCmd, deleteCmd)
	rootCmd.AddCommand(m365Cmd)
	for _, c := range []string{"connect", "sync", "apply", "delete"} {
		inUseHints["allot m365 "+c] = m365Hints[c]
	}
}

// m365ClientOptions are the Graph client's transport settings of the
// allot m365 commands: the defaults (tests give a transport that trusts
// their TLS authority).
var m365ClientOptions m365.ClientOptions

var m365Hints = map[string]string{
	"connect": "POST /allot/v1/connections",
	"sync":    "POST /allot/v1/connections/{id}/sync (GET /allot/v1/connections/{id} shows its progress)",
	"apply":   "POST /allot/v1/connections/{id}/apply (GET /allot/v1/connections/{id}/plan lists the calls)",
	"delete":  "DELETE /allot/v1/connections/{id}",
}

func printView(w io.Writer, v m365.View, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(v)
	}
	last := "never"
	if v.Sync.LastSuccess != nil {
		last = v.Sync.LastSuccess.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "%s  entra tenant %s  client %s  apply %v  sync every %s  last sync %s", v.ID, v.EntraTenantID, v.ClientID, v.Apply,
		time.Duration(v.SyncEvery), last)
	if v.Certificate != nil {
		fmt.Fprintf(w, "  certificate %s (until %s)", v.Certificate.Thumbprint, v.Certificate.NotAfter.Format("2006-01-02"))
	}
	if v.Sync.LastError != "" {
		fmt.Fprintf(w, "  last error: %s", v.Sync.LastError)
	}
	if r := v.Sync.Reports; r != nil && r.LastSuccess != nil {
		fmt.Fprintf(w, "  reports %s", r.LastSuccess.Format(time.RFC3339))
		if r.Concealed != nil && *r.Concealed {
			fmt.Fprint(w, " (names concealed)")
		}
	}
	fmt.Fprintln(w)
	return nil
}

func printCalls(w io.Writer, calls []m365.Call) {
	for _, c := range calls {
		var parts []string
		for _, a := range c.Add {
			s := "+" + nonEmpty(a.SKUPartNumber, a.SKUID)
			if len(a.DisabledPlans) > 0 {
				s += " (disabled plans " + strings.Join(a.DisabledPlans, ",") + ")"
			}
			parts = append(parts, s)
		}
		for _, r := range c.Remove {
			parts = append(parts, "-"+r)
		}
		fmt.Fprintf(w, "%s  %s  because %s\n", nonEmpty(c.UserPrincipalName, c.UserID), strings.Join(parts, " "), strings.Join(c.Why, "; "))
	}
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// connectInput completes in, the connection allot m365 connect stores,
// from its flags: the credential (a secret from secretFile or
// $ALLOT_M365_CLIENT_SECRET, or the certificate in certFile with
// $ALLOT_M365_CERTIFICATE_PASSWORD, or none with --workload-identity) and
// the sync and reports periods when their flags were given. A missing
// credential or an unreadable file or
// period is a usage error.
func connectInput(cmd *cobra.Command, in *m365.Input, secretFile, certFile, syncEvery, reportsEvery string) error {
	secret := os.Getenv("ALLOT_M365_CLIENT_SECRET")
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return usageError{fmt.Errorf("--client-secret-file: %w", err)}
		}
		secret = strings.TrimSpace(string(b))
	}
	in.ClientCertificate, in.ClientCertificatePassword = "", ""
	if certFile != "" {
		b, err := os.ReadFile(certFile)
		if err != nil {
			return usageError{fmt.Errorf("--client-certificate-file: %w", err)}
		}
		if strings.Contains(string(b), "-----BEGIN") {
			in.ClientCertificate = string(b)
		} else {
			in.ClientCertificate = base64.StdEncoding.EncodeToString(b)
		}
		in.ClientCertificatePassword = os.Getenv("ALLOT_M365_CERTIFICATE_PASSWORD")
		if secretFile == "" {
			secret = ""
		}
	} else if secret == "" && !in.WorkloadIdentity {
		return usageError{fmt.Errorf("a credential is required: --client-secret-file or $ALLOT_M365_CLIENT_SECRET, --client-certificate-file, or --workload-identity")}
	}
	if in.WorkloadIdentity && secretFile == "" {
		secret = "" // the environment's secret is not a second credential
	}
	in.ClientSecret = secret
	if cmd.Flags().Changed("sync-every") {
		var d m365.Duration
		if err := d.UnmarshalText([]byte(syncEvery)); err != nil {
			return usageError{err}
		}
		in.SyncEvery = &d
	}
	in.ReportsEvery = nil
	if cmd.Flags().Changed("reports-every") {
		var d m365.Duration
		if err := d.UnmarshalText([]byte(reportsEvery)); err != nil {
			return usageError{err}
		}
		in.ReportsEvery = &d
	}
	return nil
}
