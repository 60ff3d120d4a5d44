package sqlite

import (
	"context"
	"fmt"
	"time"

	"allot/store"
	"allot/store/alertsql"
)

var _ store.AlertStore = (*Store)(nil)

// RecordAlerts writes alert states and queues jobs in one transaction
// (store.AlertStore). The SQL is store/alertsql's.
func (s *Store) RecordAlerts(ctx context.Context, states []store.AlertState, jobs []store.AlertJob) error {
	if len(states) == 0 && len(jobs) == 0 {
		return nil
	}
	if err := alertsql.Check(states, jobs); err != nil {
		return fmt.Errorf("store/sqlite: %w", err)
	}
	return s.write(ctx, func(tx *wtx) error {
		for _, a := range states {
			if _, err := tx.ExecContext(ctx, alertsql.UpsertState, alertsql.StateArgs(a)...); err != nil {
				return fmt.Errorf("store/sqlite: record alert: %w", err)
			}
		}
		for _, j := range jobs {
			_, err := tx.ExecContext(ctx, alertsql.InsertJob, alertsql.JobArgs(j)...)
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

// query runs a read of the alert tables and scans its rows.
func query[T any](s *Store, ctx context.Context, what, q string, args []any, scan func(alertsql.Rows) (T, error)) (T, error) {
	var zero T
	if err := s.life.Enter(); err != nil {
		return zero, err
	}
	defer s.life.Leave()
	rows, err := s.readers.QueryContext(ctx, q, args...)
	if err != nil {
		return zero, fmt.Errorf("store/sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	out, err := scan(rows)
	if err != nil {
		return zero, fmt.Errorf("store/sqlite: %s: %w", what, err)
	}
	return out, nil
}

// AlertStates returns a tenant's alerts ordered by rule and subject.
func (s *Store) AlertStates(ctx context.Context, tenantID string) ([]store.AlertState, error) {
	return query(s, ctx, "alert states", alertsql.States, []any{tenantID}, func(r alertsql.Rows) ([]store.AlertState, error) {
		return alertsql.ScanStates(r, tenantID)
	})
}

// DueAlertJobs returns pending jobs due at now, oldest RunAt first.
func (s *Store) DueAlertJobs(ctx context.Context, now time.Time, limit int) ([]store.AlertJob, error) {
	return query(s, ctx, "due alert jobs", alertsql.DueJobs, alertsql.DueArgs(now, limit), alertsql.ScanJobs)
}

// AlertJobs returns a tenant's jobs in a state ("" for all), newest first.
func (s *Store) AlertJobs(ctx context.Context, tenantID, state string, limit int) ([]store.AlertJob, error) {
	return query(s, ctx, "alert jobs", alertsql.Jobs, alertsql.JobsArgs(tenantID, state, limit), alertsql.ScanJobs)
}

// FinishAttempt stores a job's new state and logs the attempt.
func (s *Store) FinishAttempt(ctx context.Context, j store.AlertJob, a store.AlertAttempt) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, alertsql.FinishJob, alertsql.FinishArgs(j)...)
		if err != nil {
			return fmt.Errorf("store/sqlite: finish alert job: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store/sqlite: finish alert job: %w", err)
		} else if n == 0 {
			return fmt.Errorf("store/sqlite: alert job %q: %w", j.ID, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, alertsql.LogAttempt, alertsql.AttemptArgs(a)...); err != nil {
			return fmt.Errorf("store/sqlite: log alert attempt: %w", err)
		}
		return nil
	})
}

// FinishAttempts stores several jobs' new states and logs their
// attempts in one transaction, skipping the jobs that do not exist.
func (s *Store) FinishAttempts(ctx context.Context, done []store.FinishedAttempt) error {
	if len(done) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *wtx) error {
		for _, d := range done {
			res, err := tx.ExecContext(ctx, alertsql.FinishJob, alertsql.FinishArgs(d.Job)...)
			if err != nil {
				return fmt.Errorf("store/sqlite: finish alert job: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("store/sqlite: finish alert job: %w", err)
			} else if n == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, alertsql.LogAttempt, alertsql.AttemptArgs(d.Attempt)...); err != nil {
				return fmt.Errorf("store/sqlite: log alert attempt: %w", err)
			}
		}
		return nil
	})
}

// AlertAttempts returns an endpoint's delivery log, newest first.
func (s *Store) AlertAttempts(ctx context.Context, tenantID, endpointID string, limit int) ([]store.AlertAttempt, error) {
	return query(s, ctx, "alert attempts", alertsql.Attempts, []any{tenantID, endpointID, limit}, func(r alertsql.Rows) ([]store.AlertAttempt, error) {
		return alertsql.ScanAttempts(r, tenantID, endpointID)
	})
}
