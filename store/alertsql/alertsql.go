// Package alertsql is the SQL of store.AlertStore that the SQL backends
// share: the statements (written with "?" placeholders; Bind turns them
// into PostgreSQL's $1, $2, …), the argument lists, the checks of what is
// written, and the scanning of rows. Each backend keeps its transactions,
// its connection handling and its error classification (store/sqlite,
// store/postgres). Times are stored as microseconds since the Unix epoch.
package alertsql

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"allot/store"
)

// Statements. Every one names tenant_id in its condition, except DueJobs:
// the delivery loop reads the due jobs of every tenant in one query (one
// read per poll for the whole process, where per-tenant reads would be
// one per tenant per poll; on Citus it is one query fanned out to every
// shard per poll). docs/SCALING.md.
const (
	UpsertState = `INSERT INTO alert_states (tenant_id, rule_id, subject, open, opened_at, clear_since, resolved_at, notified_at, notices, summary)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, rule_id, subject) DO UPDATE SET open = excluded.open, opened_at = excluded.opened_at,
		clear_since = excluded.clear_since, resolved_at = excluded.resolved_at, notified_at = excluded.notified_at,
		notices = excluded.notices, summary = excluded.summary`
	InsertJob = `INSERT INTO alert_jobs (tenant_id, id, endpoint_id, payload, state, attempts, run_at, created_at, updated_at, last_error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	States = `SELECT rule_id, subject, open, opened_at, clear_since, resolved_at, notified_at, notices, summary
		FROM alert_states WHERE tenant_id = ? ORDER BY rule_id, subject`
	jobColumns = `tenant_id, id, endpoint_id, payload, state, attempts, run_at, created_at, updated_at, last_error`
	DueJobs    = `SELECT ` + jobColumns + ` FROM alert_jobs WHERE state = ? AND run_at <= ? ORDER BY run_at, tenant_id, id LIMIT ?`
	Jobs       = `SELECT ` + jobColumns + ` FROM alert_jobs WHERE tenant_id = ? AND (CAST(? AS TEXT) = '' OR state = ?) ORDER BY created_at DESC, id DESC LIMIT ?`
	FinishJob  = `UPDATE alert_jobs SET state = ?, attempts = ?, run_at = ?, updated_at = ?, last_error = ? WHERE tenant_id = ? AND id = ?`
	LogAttempt = `INSERT INTO alert_attempts (tenant_id, endpoint_id, seq, job_id, at, attempt, ok, status, error, millis)
		VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM alert_attempts WHERE tenant_id = ? AND endpoint_id = ?), ?, ?, ?, ?, ?, ?, ?)`
	Attempts = `SELECT job_id, at, attempt, ok, status, error, millis FROM alert_attempts
		WHERE tenant_id = ? AND endpoint_id = ? ORDER BY seq DESC LIMIT ?`
)

// Bind returns q with PostgreSQL's numbered placeholders ($1, $2, …) in
// place of "?" (the statements above hold no "?" in literals).
func Bind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Micros and FromMicros are the stored encoding of times.
func Micros(t time.Time) int64      { return t.UnixMicro() }
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Check refuses states and jobs that lack their keys.
func Check(states []store.AlertState, jobs []store.AlertJob) error {
	for _, a := range states {
		if a.TenantID == "" || a.RuleID == "" {
			return errors.New("an alert needs a tenant id and a rule id")
		}
	}
	for _, j := range jobs {
		if j.TenantID == "" || j.ID == "" || j.EndpointID == "" {
			return errors.New("an alert job needs a tenant id, an id and an endpoint id")
		}
	}
	return nil
}

// StateArgs are UpsertState's arguments.
func StateArgs(a store.AlertState) []any {
	return []any{a.TenantID, a.RuleID, a.Subject, a.Open, Micros(a.OpenedAt), Micros(a.ClearSince), Micros(a.ResolvedAt),
		Micros(a.NotifiedAt), a.Notices, a.Summary}
}

// JobArgs are InsertJob's arguments (a job without a state is pending).
func JobArgs(j store.AlertJob) []any {
	state := j.State
	if state == "" {
		state = store.JobPending
	}
	return []any{j.TenantID, j.ID, j.EndpointID, j.Payload, state, j.Attempts, Micros(j.RunAt), Micros(j.CreatedAt), Micros(j.UpdatedAt), j.LastError}
}

// DueArgs are DueJobs' arguments, JobsArgs Jobs'.
func DueArgs(now time.Time, limit int) []any { return []any{store.JobPending, Micros(now), limit} }
func JobsArgs(tenantID, state string, limit int) []any {
	return []any{tenantID, state, state, limit}
}

// FinishArgs are FinishJob's arguments, AttemptArgs LogAttempt's.
func FinishArgs(j store.AlertJob) []any {
	return []any{j.State, j.Attempts, Micros(j.RunAt), Micros(j.UpdatedAt), j.LastError, j.TenantID, j.ID}
}
func AttemptArgs(a store.AlertAttempt) []any {
	return []any{a.TenantID, a.EndpointID, a.TenantID, a.EndpointID, a.JobID, Micros(a.At), a.Attempt, a.OK, a.Status, a.Error, a.Millis}
}

// Rows is what both backends' result sets offer.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanStates reads States' rows of a tenant.
func ScanStates(rows Rows, tenantID string) ([]store.AlertState, error) {
	var out []store.AlertState
	for rows.Next() {
		a := store.AlertState{TenantID: tenantID}
		var opened, clear, resolved, notified int64
		if err := rows.Scan(&a.RuleID, &a.Subject, &a.Open, &opened, &clear, &resolved, &notified, &a.Notices, &a.Summary); err != nil {
			return nil, err
		}
		a.OpenedAt, a.ClearSince, a.ResolvedAt, a.NotifiedAt = FromMicros(opened), FromMicros(clear), FromMicros(resolved), FromMicros(notified)
		out = append(out, a)
	}
	return out, rows.Err()
}

// ScanJobs reads DueJobs' and Jobs' rows.
func ScanJobs(rows Rows) ([]store.AlertJob, error) {
	var out []store.AlertJob
	for rows.Next() {
		var j store.AlertJob
		var run, created, updated int64
		if err := rows.Scan(&j.TenantID, &j.ID, &j.EndpointID, &j.Payload, &j.State, &j.Attempts, &run, &created, &updated, &j.LastError); err != nil {
			return nil, err
		}
		j.RunAt, j.CreatedAt, j.UpdatedAt = FromMicros(run), FromMicros(created), FromMicros(updated)
		out = append(out, j)
	}
	return out, rows.Err()
}

// ScanAttempts reads Attempts' rows of an endpoint.
func ScanAttempts(rows Rows, tenantID, endpointID string) ([]store.AlertAttempt, error) {
	var out []store.AlertAttempt
	for rows.Next() {
		a := store.AlertAttempt{TenantID: tenantID, EndpointID: endpointID}
		var at int64
		if err := rows.Scan(&a.JobID, &at, &a.Attempt, &a.OK, &a.Status, &a.Error, &a.Millis); err != nil {
			return nil, err
		}
		a.At = FromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
