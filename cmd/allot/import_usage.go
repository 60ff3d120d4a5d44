package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/tenant"
	"allot/usage"
)

// allot import usage FILE... and allot import signins FILE: ingest usage
// reports, feature events and sign-ins into a tenant, offline, through the
// same runtime as the server.

// importChunk is how much of a JSON-lines file is parsed at a time, and
// importBatch how many events one command aggregates (one command is all
// or nothing; a file larger than a batch is ingested batch by batch, and
// running the import again is harmless: events are idempotent by id and
// the aggregates by construction).
const (
	importChunk = 32 << 20
	importBatch = 1_000_000
)

func init() {
	importCmd.AddCommand(newImportUsageCmd(), newImportSignInsCmd())
}

type importFlags struct {
	db, tenant, report string
	force, asJSON      bool
}

func (f *importFlags) register(cmd *cobra.Command, reports bool) {
	cmd.Flags().StringVar(&f.db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().StringVar(&f.tenant, "tenant", "", "tenant id (required)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print each file's result as JSON (accepted, rejected lines, unmatched users)")
	if reports {
		cmd.Flags().StringVar(&f.report, "report", "", "report type of the CSV files (default: recognised from the header): "+strings.Join(usage.ReportNames(), ", "))
		cmd.Flags().BoolVar(&f.force, "force", false, "re-read a report that was imported before (same type and refresh date)")
	}
}

func newImportUsageCmd() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "usage FILE...",
		Short: "Import Microsoft 365 usage reports (CSV) and feature events (JSON lines)",
		Long: `Import usage into a tenant: Microsoft 365 usage report CSVs as Graph's reports
API delivers them (getOffice365ActiveUserDetail, getMailboxUsageDetail,
getEmailActivityUserDetail, getOneDriveActivityUserDetail,
getSharePointActivityUserDetail, getTeamsUserActivityUserDetail,
getYammerActivityUserDetail, getM365AppUserDetail), and feature events
({"id","user","feature","at"} as JSON lines, a JSON array or {"value":[…]}).
A .csv file is a report; .jsonl, .ndjson and .json files are events.

Rows that cannot be read are listed with their line and skipped (the rest
is imported, and the exit code is 3); users the tenant does not have are
listed as unmatched. A report imported again (same
type and refresh date) changes nothing unless --force. Each report, and each
million events, is one all-or-nothing command: if the import stops, what was
ingested stays, and running it again is harmless.`,
		Example: `  allot import usage --tenant 7c1e… O365ActiveUserDetail.csv MailboxUsageDetail.csv
  allot import usage --tenant 7c1e… --db postgres://… events-2024-06.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runImport(cmd, &f, args, usage.FeatureEvents) },
	}
	f.register(cmd, true)
	return cmd
}

func newImportSignInsCmd() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "signins FILE",
		Short: "Import sign-ins (JSON lines or {\"value\":[…]}) to record activation",
		Long: `Import sign-ins into a tenant: {"id","user","at","application","interactive"}
objects as JSON lines, a JSON array or {"value":[…]} (Microsoft Graph signIn
objects are read too). A license is activated by the user's first sign-in
after it was granted. Lines that cannot be read are listed and skipped (the
rest is imported, and the exit code is 3).`,
		Example: `  allot import signins --tenant 7c1e… signins.jsonl`,
		Args:    cobra.ExactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runImport(cmd, &f, args, usage.SignIns) },
	}
	f.register(cmd, false)
	return cmd
}

func runImport(cmd *cobra.Command, f *importFlags, files []string, kind usage.BatchKind) error {
	if f.tenant == "" {
		return usageError{fmt.Errorf("--tenant is required")}
	}
	var total int64
	for _, name := range files {
		fi, err := os.Stat(name)
		if err != nil {
			return usageError{err}
		}
		total += fi.Size()
	}
	ctx := cmd.Context()
	st, err := openStore(ctx, f.db)
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	defer st.Close()
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
	if err != nil {
		return fmt.Errorf("loading tenants: %w", err)
	}
	defer rt.Close(context.Background())
	t, ok := rt.Get(f.tenant)
	if !ok {
		return fmt.Errorf("tenant %s does not exist", f.tenant)
	}
	bar := newProgress(cmd.ErrOrStderr(), total, progressbar.OptionSetDescription("importing"),
		progressbar.OptionShowBytes(true), progressbar.OptionShowTotalBytes(true), progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(100*time.Millisecond))
	imp := importer{ctx: ctx, t: t, flags: f, bar: bar}
	rejected := 0
	for _, name := range files {
		bar.Describe(filepath.Base(name))
		res, what, err := imp.file(name, kind)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		bar.Clear()
		if err := printImport(cmd.OutOrStdout(), name, what, res, f.asJSON); err != nil {
			return err
		}
		if !res.Duplicate { // a report imported before changed nothing
			rejected += res.RejectedCount
		}
	}
	bar.Done()
	if rejected > 0 {
		// Exit code 3: a script must not take a partial import for a
		// complete one.
		return rejectedError{rejected}
	}
	return nil
}

type importer struct {
	ctx   context.Context
	t     *tenant.Tenant
	flags *importFlags
	bar   *progress
}

// file imports one file; what says what it held.
func (imp *importer) file(name string, kind usage.BatchKind) (usage.Result, string, error) {
	fh, err := os.Open(name)
	if err != nil {
		return usage.Result{}, "", err
	}
	defer fh.Close()
	r := bufio.NewReaderSize(io.TeeReader(fh, imp.bar), 1<<20)
	if kind == usage.FeatureEvents && isCSV(name, r) {
		rep, err := usage.ParseReport(r, imp.flags.report)
		if err != nil {
			return usage.Result{}, "", err
		}
		res, err := imp.apply(func(tx *tenant.Tx) (usage.Result, error) { return rep.Apply(tx, imp.flags.force) })
		return res, "report " + rep.Kind + " " + res.ReportRefreshDate, err
	}
	what := "events"
	if kind == usage.SignIns {
		what = "sign-ins"
	}
	head, _ := r.Peek(64)
	whole := strings.EqualFold(filepath.Ext(name), ".json") ||
		bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\ufeff")), " \t\r\n"), []byte("["))
	res, err := imp.jsonLines(r, kind, whole)
	return res, what, err
}

// isCSV tells a report from events: by extension, else by the first
// character (JSON starts with { or [).
func isCSV(name string, r *bufio.Reader) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return true
	case ".jsonl", ".ndjson", ".json":
		return false
	}
	head, _ := r.Peek(512)
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\ufeff")), " \t\r\n")
	return len(head) == 0 || (head[0] != '{' && head[0] != '[')
}

// jsonLines ingests events in chunks that end at line ends, one command per
// importBatch events. A JSON document (whole: a .json file, or an array) is
// read whole.
func (imp *importer) jsonLines(r *bufio.Reader, kind usage.BatchKind, whole bool) (usage.Result, error) {
	var total usage.Result
	b := usage.NewBatch(kind)
	line := 1
	flush := func() error {
		if b.Len() == 0 && len(b.Rejected) == 0 {
			return nil
		}
		res, err := imp.apply(b.Apply)
		if err != nil {
			return err
		}
		total.Add(res)
		b = usage.NewBatch(kind)
		return nil
	}
	buf := make([]byte, 0, importChunk+64<<10)
	for {
		chunk, err := readChunk(r, buf[:0], whole)
		if len(chunk) > 0 {
			b.Parse(chunk, line)
			line += bytes.Count(chunk, []byte{'\n'})
			if b.Len() >= importBatch {
				if err := flush(); err != nil {
					return total, err
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
	}
	return total, flush()
}

// readChunk reads about importChunk bytes ending at a line end (or the
// whole input when whole is set).
func readChunk(r *bufio.Reader, buf []byte, whole bool) ([]byte, error) {
	for whole || len(buf) < importChunk {
		line, err := r.ReadSlice('\n')
		buf = append(buf, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func (imp *importer) apply(fn func(tx *tenant.Tx) (usage.Result, error)) (usage.Result, error) {
	var res usage.Result
	err := imp.t.Do(imp.ctx, licensing.Op{Actor: "allot import (CLI)"}, func(tx *tenant.Tx) error {
		var err error
		res, err = fn(tx)
		return err
	})
	return res, err
}

func printImport(w io.Writer, name, what string, r usage.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		return enc.Encode(map[string]any{"file": name, "result": r})
	}
	if r.Duplicate {
		fmt.Fprintf(w, "%s: %s was imported before; nothing changed (use --force to read it again)\n", name, what)
		return nil
	}
	fmt.Fprintf(w, "%s: %s: %d accepted, %d rejected, %d unmatched", name, what, r.Accepted, r.RejectedCount, r.UnmatchedCount)
	if r.NotRecorded {
		fmt.Fprintf(w, "\n  %s", strings.ReplaceAll(r.Message, "allot import concealed-names FILE", "allot import concealed-names --tenant ID FILE"))
	}
	if r.Duplicates > 0 {
		fmt.Fprintf(w, ", %d duplicates", r.Duplicates)
	}
	fmt.Fprintln(w)
	for i, x := range r.Rejected {
		if i == 10 {
			fmt.Fprintf(w, "  … %d more rejected (see --json)\n", r.RejectedCount-10)
			break
		}
		fmt.Fprintf(w, "  line %d: %s\n", x.Line, x.Reason)
	}
	for i, u := range r.Unmatched {
		if i == 10 {
			fmt.Fprintf(w, "  … %d more unmatched (see --json)\n", r.UnmatchedCount-10)
			break
		}
		note := "no such user"
		if u.Concealed {
			note = "concealed name without a mapping"
		}
		fmt.Fprintf(w, "  line %d: %s: %s\n", u.Line, u.User, note)
	}
	return nil
}
