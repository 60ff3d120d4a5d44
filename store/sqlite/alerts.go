package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"allot/store"
)

var _ store.AlertStore = (*Store)(nil)

// RecordAlerts writes alert states and queues jobs in one transaction
// (store.AlertStore).
func (s *Store) RecordAlerts(ctx context.Context, states []store.AlertState, jobs []store.AlertJob) error {
	if len(states) == 0 && len(jobs) == 0 {
		return nil
	}
	for _, a := range states {
		if a.TenantID == "" || a.RuleID == "" {
			return errors.New("store/sqlite: an alert needs a tenant id and a rule id")
		}
	}
	for _, j := range jobs {
		if j.TenantID == "" || j.ID == "" || j.EndpointID == "" {
			return errors.New("store/sqlite: an alert job needs a tenant id, an id and an endpoint id")
		}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		for _, a := range states {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_states (tenant_id, rule_id, subject, open, opened_at, clear_since, resolved_at, notified_at, notices, summary)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (tenant_id, rule_id, subject) DO UPDATE SET open = excluded.open, opened_at = excluded.opened_at,
				clear_since = excluded.clear_since, resolved_at = excluded.resolved_at, notified_at = excluded.notified_at,
				notices = excluded.notices, summary = excluded.summary`,
				a.TenantID, a.RuleID, a.Subject, a.Open, micros(a.OpenedAt), micros(a.ClearSince), micros(a.ResolvedAt),
				micros(a.NotifiedAt), a.Notices, a.Summary); err != nil {
				return fmt.Errorf("store/sqlite: record alert: %w", err)
			}
		}
		for _, j := range jobs {
			state := j.State
			if state == "" {
				state = store.JobPending
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO alert_jobs (tenant_id, id, endpoint_id, payload, state, attempts, run_at, created_at, updated_at, last_error)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				j.TenantID, j.ID, j.EndpointID, j.Payload, state, j.Attempts, micros(j.RunAt), micros(j.CreatedAt), micros(j.UpdatedAt), j.LastError)
			if isConstraint(err) {
				return fmt.Errorf("store/sqlite: alert job %q: %w", j.ID, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("store/sqlite: queue alert job: %w", err)
			}
		}
		return nil
	})
}

// AlertStates returns a tenant's alerts ordered by rule and subject.
func (s *Store) AlertStates(ctx context.Context, tenantID string) ([]store.AlertState, error) {
	if err := s.life.enter(); err != nil {
		return nil, err
	}
	defer s.life.leave()
	rows, err := s.readers.QueryContext(ctx, `SELECT rule_id, subject, open, opened_at, clear_since, resolved_at, notified_at, notices, summary
		FROM alert_states WHERE tenant_id = ? ORDER BY rule_id, subject`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: alert states: %w", err)
	}
	defer rows.Close()
	var out []store.AlertState
	for rows.Next() {
		a := store.AlertState{TenantID: tenantID}
		var opened, clear, resolved, notified int64
		if err := rows.Scan(&a.RuleID, &a.Subject, &a.Open, &opened, &clear, &resolved, &notified, &a.Notices, &a.Summary); err != nil {
			return nil, fmt.Errorf("store/sqlite: alert states: %w", err)
		}
		a.OpenedAt, a.ClearSince, a.ResolvedAt, a.NotifiedAt = fromMicros(opened), fromMicros(clear), fromMicros(resolved), fromMicros(notified)
		out = append(out, a)
	}
	return out, rows.Err()
}

const jobColumns = `tenant_id, id, endpoint_id, payload, state, attempts, run_at, created_at, updated_at, last_error`

func scanJobs(rows *sql.Rows) ([]store.AlertJob, error) {
	defer rows.Close()
	var out []store.AlertJob
	for rows.Next() {
		var j store.AlertJob
		var run, created, updated int64
		if err := rows.Scan(&j.TenantID, &j.ID, &j.EndpointID, &j.Payload, &j.State, &j.Attempts, &run, &created, &updated, &j.LastError); err != nil {
			return nil, fmt.Errorf("store/sqlite: alert jobs: %w", err)
		}
		j.RunAt, j.CreatedAt, j.UpdatedAt = fromMicros(run), fromMicros(created), fromMicros(updated)
		out = append(out, j)
	}
	return out, rows.Err()
}

// DueAlertJobs returns pending jobs due at now, oldest RunAt first.
func (s *Store) DueAlertJobs(ctx context.Context, now time.Time, limit int) ([]store.AlertJob, error) {
	if err := s.life.enter(); err != nil {
		return nil, err
	}
	defer s.life.leave()
	rows, err := s.readers.QueryContext(ctx, `SELECT `+jobColumns+` FROM alert_jobs WHERE state = ? AND run_at <= ? ORDER BY run_at, tenant_id, id LIMIT ?`,
		store.JobPending, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: due alert jobs: %w", err)
	}
	return scanJobs(rows)
}

// AlertJobs returns a tenant's jobs in a state ("" for all), newest first.
func (s *Store) AlertJobs(ctx context.Context, tenantID, state string, limit int) ([]store.AlertJob, error) {
	if err := s.life.enter(); err != nil {
		return nil, err
	}
	defer s.life.leave()
	rows, err := s.readers.QueryContext(ctx, `SELECT `+jobColumns+` FROM alert_jobs WHERE tenant_id = ? AND (? = '' OR state = ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
		tenantID, state, state, limit)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: alert jobs: %w", err)
	}
	return scanJobs(rows)
}

// FinishAttempt stores a job's new state and logs the attempt.
func (s *Store) FinishAttempt(ctx context.Context, j store.AlertJob, a store.AlertAttempt) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alert_jobs SET state = ?, attempts = ?, run_at = ?, updated_at = ?, last_error = ? WHERE tenant_id = ? AND id = ?`,
			j.State, j.Attempts, micros(j.RunAt), micros(j.UpdatedAt), j.LastError, j.TenantID, j.ID)
		if err != nil {
			return fmt.Errorf("store/sqlite: finish alert job: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store/sqlite: finish alert job: %w", err)
		} else if n == 0 {
			return fmt.Errorf("store/sqlite: alert job %q: %w", j.ID, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_attempts (tenant_id, endpoint_id, seq, job_id, at, attempt, ok, status, error, millis)
			VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM alert_attempts WHERE tenant_id = ? AND endpoint_id = ?), ?, ?, ?, ?, ?, ?, ?)`,
			a.TenantID, a.EndpointID, a.TenantID, a.EndpointID, a.JobID, micros(a.At), a.Attempt, a.OK, a.Status, a.Error, a.Millis); err != nil {
			return fmt.Errorf("store/sqlite: log alert attempt: %w", err)
		}
		return nil
	})
}

// AlertAttempts returns an endpoint's delivery log, newest first.
func (s *Store) AlertAttempts(ctx context.Context, tenantID, endpointID string, limit int) ([]store.AlertAttempt, error) {
	if err := s.life.enter(); err != nil {
		return nil, err
	}
	defer s.life.leave()
	rows, err := s.readers.QueryContext(ctx, `SELECT job_id, at, attempt, ok, status, error, millis FROM alert_attempts
		WHERE tenant_id = ? AND endpoint_id = ? ORDER BY seq DESC LIMIT ?`, tenantID, endpointID, limit)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: alert attempts: %w", err)
	}
	defer rows.Close()
	var out []store.AlertAttempt
	for rows.Next() {
		a := store.AlertAttempt{TenantID: tenantID, EndpointID: endpointID}
		var at int64
		if err := rows.Scan(&a.JobID, &at, &a.Attempt, &a.OK, &a.Status, &a.Error, &a.Millis); err != nil {
			return nil, fmt.Errorf("store/sqlite: alert attempts: %w", err)
		}
		a.At = fromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
