package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"allot"
	"allot/licensing"
	"allot/tenant"
	"allot/usage"
)

// allot import concealed-names FILE: the tenant's mapping of concealed
// report names to users, offline — what PUT /allot/v1/usage/concealed-names
// does through the server.

func init() {
	importCmd.AddCommand(newImportConcealedCmd())
}

func newImportConcealedCmd() *cobra.Command {
	var db, tid string
	cmd := &cobra.Command{
		Use:   "concealed-names FILE",
		Short: "Map concealed (hashed) usage report names to users",
		Long: `Replace the tenant's mapping of concealed usage report names to users. When
"Display concealed user, group, and site names in all reports" is on (Microsoft
365 admin center, Settings > Org settings > Reports), reports show 32
hexadecimal digits instead of each user principal name; with the mapping, allot
matches those rows to users.

FILE is the body of PUT /allot/v1/usage/concealed-names —
{"value":[{"hash":"…","userPrincipalName":"…"}]} or a JSON array of those
objects — or a CSV file with the columns hash,userPrincipalName. The file is
the whole mapping: it replaces the previous one. Then import the report again
(a report none of whose rows matched was not recorded, so it needs no --force).`,
		Example: `  allot import concealed-names --tenant 7c1e… names.csv
  allot import usage --tenant 7c1e… O365ActiveUserDetail.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tid == "" {
				return usageError{fmt.Errorf("--tenant is required")}
			}
			body, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			in, err := readConcealedNames(body)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			names, err := usage.CheckConcealedNames(in)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			ctx := cmd.Context()
			err = withTenant(ctx, db, tid, func(t *tenant.Tenant) error {
				return t.Do(ctx, licensing.Op{Actor: "allot import (CLI)"}, func(tx *tenant.Tx) error { return usage.SetConcealedNames(tx, names) })
			})
			if err != nil {
				return err
			}
			noun := "names"
			if len(names) == 1 {
				noun = "name"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d concealed %s mapped\n", len(names), noun)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().StringVar(&tid, "tenant", "", "tenant id (required)")
	return cmd
}

// readConcealedNames reads a mapping file: JSON ({"value":[…]} or […]) or
// CSV with the columns hash and userPrincipalName (any order, any case).
func readConcealedNames(body []byte) ([]usage.ConcealedName, error) {
	trim := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\ufeff")), " \t\r\n")
	if len(trim) > 0 && (trim[0] == '{' || trim[0] == '[') {
		var in []usage.ConcealedName
		if trim[0] == '[' {
			if err := json.Unmarshal(trim, &in); err != nil {
				return nil, allot.Errorf(allot.EINVALID, "not a JSON array of {\"hash\",\"userPrincipalName\"} objects: %v", err)
			}
			return in, nil
		}
		var doc struct {
			Value []usage.ConcealedName `json:"value"`
		}
		if err := json.Unmarshal(trim, &doc); err != nil {
			return nil, allot.Errorf(allot.EINVALID, "not a {\"value\":[…]} document: %v", err)
		}
		return doc.Value, nil
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, allot.Errorf(allot.EINVALID, "line 1: %v", err)
	}
	hc, uc := -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "hash":
			hc = i
		case "userprincipalname", "user principal name":
			uc = i
		}
	}
	if hc < 0 || uc < 0 {
		return nil, allot.Errorf(allot.EINVALID, "line 1: the CSV needs the columns hash and userPrincipalName")
	}
	var out []usage.ConcealedName
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, allot.Errorf(allot.EINVALID, "line %d: %v", line, err)
		}
		if len(rec) <= max(hc, uc) {
			return nil, allot.Errorf(allot.EINVALID, "line %d: %d columns, expected at least %d", line, len(rec), max(hc, uc)+1)
		}
		out = append(out, usage.ConcealedName{Hash: rec[hc], UserPrincipalName: rec[uc]})
	}
}
