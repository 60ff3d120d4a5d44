package store

import (
	"context"
	"time"
)

// AlertState is one alert of a tenant (package alert): a rule's condition
// for one subject (a group, a product, an allotment, a subscription, …).
// It is open while the condition holds and resolved once it has cleared.
type AlertState struct {
	TenantID string
	RuleID   string
	Subject  string
	Open     bool
	// OpenedAt is when it last opened; ClearSince when its condition was
	// first seen clear while it was open (zero while it holds);
	// ResolvedAt when it last resolved; NotifiedAt when a notification
	// was last queued, Notices how many since it opened.
	OpenedAt   time.Time
	ClearSince time.Time
	ResolvedAt time.Time
	NotifiedAt time.Time
	Notices    int
	Summary    string
}

// Job states of an AlertJob.
const (
	JobPending = "pending" // to be delivered at RunAt
	JobDone    = "done"    // delivered
	JobDead    = "dead"    // gave up: the dead-letter list
)

// AlertJob is one notification to deliver to one endpoint: the durable
// queue of package alert. Payload is the event (JSON); the endpoint's
// address and secret are read when it is delivered.
type AlertJob struct {
	TenantID   string
	ID         string
	EndpointID string
	Payload    []byte
	State      string
	Attempts   int
	RunAt      time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastError  string
}

// AlertAttempt is one delivery attempt of a job: the delivery log of an
// endpoint.
type AlertAttempt struct {
	TenantID   string
	EndpointID string
	JobID      string
	At         time.Time
	Attempt    int
	OK         bool
	Status     int // the HTTP status, 0 for email or when there was none
	Error      string
	Millis     int64
}

// FinishedAttempt is a job's new state and its attempt (FinishAttempts).
type FinishedAttempt struct {
	Job     AlertJob
	Attempt AlertAttempt
}

// AlertStore is implemented by the stores that keep alerts and their
// delivery queue in the same database as the tenants (so a backup holds
// them, and they migrate with the schema). Both backends implement it;
// the contract suite checks it.
type AlertStore interface {
	// RecordAlerts writes alert states (by tenant, rule and subject) and
	// queues jobs in one transaction: once it returns nil, the jobs will
	// be delivered at least once.
	RecordAlerts(ctx context.Context, states []AlertState, jobs []AlertJob) error
	// AlertStates returns a tenant's alerts, open or resolved, ordered by
	// rule and subject.
	AlertStates(ctx context.Context, tenantID string) ([]AlertState, error)
	// DueAlertJobs returns at most limit pending jobs of every tenant whose
	// RunAt is at or before now, oldest RunAt first.
	DueAlertJobs(ctx context.Context, now time.Time, limit int) ([]AlertJob, error)
	// FinishAttempt stores a job's new state (State, Attempts, RunAt,
	// LastError, UpdatedAt) and appends the attempt to its endpoint's log,
	// in one transaction. ErrNotFound if the job does not exist.
	FinishAttempt(ctx context.Context, j AlertJob, a AlertAttempt) error
	// FinishAttempts is FinishAttempt for several jobs in one transaction
	// (a delivery round's outcomes: one commit, where one per job would
	// take the database's write lock and flush its log once per job). A
	// job that does not exist (its tenant was deleted) is skipped, its
	// attempt not logged; the others are stored.
	FinishAttempts(ctx context.Context, done []FinishedAttempt) error
	// AlertJobs returns a tenant's jobs in a state ("" for all), newest
	// first, at most limit.
	AlertJobs(ctx context.Context, tenantID, state string, limit int) ([]AlertJob, error)
	// AlertAttempts returns an endpoint's delivery log, newest first, at
	// most limit.
	AlertAttempts(ctx context.Context, tenantID, endpointID string, limit int) ([]AlertAttempt, error)
}

// AlertsOf returns the alert store of s, if it keeps alerts; through a
// read-only store (ReadOnly) its writes fail with ErrReadOnly.
func AlertsOf(s Store) (AlertStore, bool) {
	if inner, ok := readOnlyInner(s); ok {
		as, ok := inner.(AlertStore)
		if !ok {
			return nil, false
		}
		return readOnlyAlerts{as}, true
	}
	as, ok := s.(AlertStore)
	return as, ok
}

type readOnlyAlerts struct{ AlertStore }

func (readOnlyAlerts) RecordAlerts(context.Context, []AlertState, []AlertJob) error {
	return ErrReadOnly
}
func (readOnlyAlerts) FinishAttempt(context.Context, AlertJob, AlertAttempt) error {
	return ErrReadOnly
}
func (readOnlyAlerts) FinishAttempts(context.Context, []FinishedAttempt) error {
	return ErrReadOnly
}
