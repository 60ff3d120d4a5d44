package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"allot/licensing"
	"allot/tenant"
	"allot/usage"
)

// DefaultReportsEvery is the default schedule of a connection's usage
// reports: Microsoft refreshes them once a day.
const DefaultReportsEvery = 24 * time.Hour

// ReportNames are the usage reports a reports sync reads: Graph's reports
// functions that allot's usage importer understands (usage.ParseReport),
// each for period D7 (the last activity dates per user, which is what the
// importer aggregates; a report already imported — same type and refresh
// date — changes nothing).
var ReportNames = []string{usage.ReportActiveUser, usage.ReportMailboxUsage, usage.ReportEmailActivity,
	usage.ReportOneDriveActivity, usage.ReportSharePointActivity, usage.ReportTeamsActivity, usage.ReportYammerActivity, usage.ReportM365Apps}

// ReportsState is what the last reports sync of a connection did.
type ReportsState struct {
	StartedAt   *time.Time `json:"startedDateTime,omitempty"`
	FinishedAt  *time.Time `json:"finishedDateTime,omitempty"`
	LastSuccess *time.Time `json:"lastSuccessDateTime,omitempty"`
	LastError   string     `json:"lastError,omitempty"`
	// Concealed: the Microsoft tenant's reportSettings conceal user names
	// (displayConcealedNames), so rows are matched only through the
	// tenant's concealed-name mapping (PUT /allot/v1/usage/concealed-names);
	// nil when reportSettings could not be read (ReportSettings.Read.All).
	Concealed *bool          `json:"concealedNames,omitempty"`
	Reports   []ReportResult `json:"reports,omitempty"`
}

// ReportResult is one report of a reports sync.
type ReportResult struct {
	Report      string `json:"report"`
	RefreshDate string `json:"refreshDate,omitempty"`
	Rows        int    `json:"rows"`
	Accepted    int    `json:"accepted"`
	Unmatched   int    `json:"unmatched"`
	Concealed   int    `json:"concealed,omitempty"` // rows whose concealed name has no mapping
	Duplicate   bool   `json:"duplicate,omitempty"` // imported before (same refresh date)
	// Skipped says why the report was not read (the service refused it,
	// e.g. a workload the tenant does not have).
	Skipped string `json:"skipped,omitempty"`
	Message string `json:"message,omitempty"`
}

// SyncReports reads the Microsoft tenant's report settings and usage
// reports and imports each report into the allot tenant's usage (one
// command per report, as allot import usage does: a report imported
// before changes nothing, so a reports sync stopped anywhere is simply run
// again). A report the service refuses (400, 403, 404) is skipped and
// named; other failures stop the sync.
func SyncReports(ctx context.Context, t *tenant.Tenant, env *Env, connID string, p *Progress, actor string) (res Result, err error) {
	if p == nil {
		p = &Progress{}
	}
	c, err := read(t, connID)
	if err != nil {
		return res, err
	}
	cl, err := env.client(c)
	if err != nil {
		return res, err
	}
	p.setClient(cl)
	start := env.now()
	putReports := func(fn func(*ReportsState)) error {
		return putRecord(context.WithoutCancel(ctx), t, actor, env.now(), connID, func(r *syncRecord) {
			if r.Reports == nil {
				r.Reports = &ReportsState{}
			}
			fn(r.Reports)
		})
	}
	if err := putReports(func(r *ReportsState) { r.StartedAt, r.FinishedAt = &start, nil }); err != nil {
		return res, err
	}
	res.Kind = "reports"
	defer func() {
		result := "ok"
		end := env.now()
		if err != nil {
			result = "error"
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if perr := putReports(func(r *ReportsState) {
			r.FinishedAt, r.LastError = &end, msg
			if err == nil {
				r.LastSuccess, r.Reports = &end, res.Reports
			}
		}); perr != nil {
			err = errors.Join(err, perr)
		}
		syncsTotal.WithLabelValues("reports", result).Inc()
	}()
	p.setPhase("reading report settings")
	var settings struct {
		DisplayConcealedNames *bool `json:"displayConcealedNames"`
	}
	if err := cl.Do(ctx, http.MethodGet, "/admin/reportSettings", nil, &settings); err != nil && !refused(err) {
		return res, err
	}
	concealed := settings.DisplayConcealedNames
	_ = putReports(func(r *ReportsState) { r.Concealed = concealed })
	for _, name := range ReportNames {
		p.setPhase("reading " + name)
		data, err := cl.Raw(ctx, fmt.Sprintf("/reports/%s(period='D7')", name))
		if refused(err) {
			res.Reports = append(res.Reports, ReportResult{Report: name, Skipped: err.Error()})
			continue
		}
		if err != nil {
			return res, err
		}
		rep, err := usage.ParseReport(bytes.NewReader(data), name)
		if err != nil {
			return res, fmt.Errorf("reading the report %s that Microsoft Graph answered: %w", name, err)
		}
		var ur usage.Result
		err = t.Do(ctx, licensing.Op{Actor: actor, Now: env.now(), Why: "Microsoft 365 usage report " + name}, func(tx *tenant.Tx) error {
			var aerr error
			ur, aerr = rep.Apply(tx, false)
			return aerr
		})
		if err != nil {
			return res, fmt.Errorf("importing %s: %w", name, err)
		}
		res.Reports = append(res.Reports, ReportResult{Report: name, RefreshDate: ur.ReportRefreshDate, Rows: rep.Rows,
			Accepted: ur.Accepted, Unmatched: ur.UnmatchedCount, Concealed: ur.ConcealedCount, Duplicate: ur.Duplicate, Message: ur.Message})
	}
	p.setPhase("reading signInActivity")
	sr, err := syncSignIns(ctx, t, cl, env, actor)
	if err != nil {
		return res, err
	}
	res.Reports = append(res.Reports, sr)
	p.setPhase("done")
	return res, nil
}

// SignInActivityReport names, among a reports sync's results, the read of
// every user's signInActivity (a delta sync reads it only of the users
// that changed in the directory, and a sign-in is not a directory change).
const SignInActivityReport = "signInActivity"

// syncSignIns reads every user's signInActivity page by page and adds the
// sign-ins it says to the tenant's usage, one command per page (a sign-in
// known before changes nothing, so a stopped read is simply run again).
// A service that refuses the property (it needs AuditLog.Read.All and
// Entra ID P1 or P2) makes the result skipped.
func syncSignIns(ctx context.Context, t *tenant.Tenant, cl *Client, env *Env, actor string) (ReportResult, error) {
	rr := ReportResult{Report: SignInActivityReport}
	err := cl.Pages(ctx, fmt.Sprintf("/users?$select=id,signInActivity&$top=%d", pageSize), func(items []json.RawMessage, _, _ string) error {
		var n int
		err := t.Do(ctx, licensing.Op{Actor: actor, Now: env.now(), Why: "Microsoft 365 signInActivity"}, func(tx *tenant.Tx) error {
			var err error
			n, err = applySignIns(tx, items)
			return err
		})
		if err == nil {
			rr.Rows += len(items)
			rr.Accepted += n
		}
		return err
	})
	if refusesProperty(err) || refused(err) {
		return ReportResult{Report: SignInActivityReport, Skipped: err.Error()}, nil
	}
	return rr, err
}

// refused reports an answer that refuses a request the connection may
// go without (400, 403, 404).
func refused(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && (ge.Status == http.StatusBadRequest || ge.Status == http.StatusForbidden || ge.Status == http.StatusNotFound)
}

// reportsDue reports whether a connection's scheduled reports sync is due.
func reportsDue(c *Connection, st SyncState, now time.Time) bool {
	every := c.reportsEvery()
	if every <= 0 {
		return false
	}
	if st.Reports == nil || st.Reports.StartedAt == nil {
		return true
	}
	last := st.Reports.StartedAt
	if st.Reports.FinishedAt != nil {
		last = st.Reports.FinishedAt
	}
	return now.Sub(*last) >= every
}
