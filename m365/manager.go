package m365

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"allot"
	"allot/tenant"
)

// Manager runs a process's syncs and applies: at most one job per
// connection at a time, at most MaxConcurrent syncs at once across tenants,
// each in the background (jobs are tenant commands like any other, so
// they never block other commands beyond their own), and the schedule.
type Manager struct {
	RT  *tenant.Runtime
	Env *Env
	Log *slog.Logger
	// MaxConcurrent bounds the syncs running at once (default 2).
	MaxConcurrent int
	// Base is the context background syncs run under (the server's: its
	// end stops them); nil: context.Background.
	Base context.Context
	// SyncEnded, if set, is told how each directory sync of a tenant ended
	// (err nil: it succeeded), after the sync and not for one the end of
	// Base stopped: the alert rules on failed syncs (alert.OperationFailed
	// with source "sync") open and resolve on it.
	SyncEnded func(ctx context.Context, t *tenant.Tenant, err error)
	// Acts reports whether this process runs a tenant's scheduled syncs
	// now. With several processes on one database (allot serve --ha) it
	// is the tenant's lease (lease.Keeper.Acts): one process syncs a
	// tenant, the others leave its schedule alone. It is asked only for a
	// tenant with a sync due. nil: this process syncs every tenant.
	Acts func(ctx context.Context, tenantID string) bool

	once sync.Once
	sem  chan struct{}
	mu   sync.Mutex
	jobs map[string]*job // tenantId/connId: the running job
	last map[string]*job // tenantId/connId: the job started last (running or ended)
	runs map[string]int  // tenantId/connId: jobs started
}

type job struct {
	kind string // "sync" or "apply"
	p    *Progress
	done chan struct{}
	res  Result
	err  error
}

func (m *Manager) init() {
	m.once.Do(func() {
		n := m.MaxConcurrent
		if n <= 0 {
			n = 2
		}
		m.sem = make(chan struct{}, n)
		m.jobs = map[string]*job{}
		m.last = map[string]*job{}
		m.runs = map[string]int{}
		if m.Log == nil {
			m.Log = slog.Default()
		}
	})
}

// StartSync starts a sync of a connection in the background, under
// Base; false when one (or an apply) is already running for it.
func (m *Manager) StartSync(t *tenant.Tenant, connID, actor string) (bool, error) {
	return m.start(t, connID, actor, "sync", Sync)
}

// StartReports starts a usage reports sync of a connection in the
// background (SyncReports); false when a job is already running for it.
func (m *Manager) StartReports(t *tenant.Tenant, connID, actor string) (bool, error) {
	return m.start(t, connID, actor, "reports", SyncReports)
}

// start runs a job of a connection in the background, under Base, within
// MaxConcurrent; false when one is already running for it.
func (m *Manager) start(t *tenant.Tenant, connID, actor, kind string,
	fn func(context.Context, *tenant.Tenant, *Env, string, *Progress, string) (Result, error)) (bool, error) {
	m.init()
	ctx := m.Base
	if ctx == nil {
		ctx = context.Background()
	}
	if _, err := read(t, connID); err != nil {
		return false, err
	}
	key := t.ID + "/" + connID
	m.mu.Lock()
	if m.jobs[key] != nil {
		m.mu.Unlock()
		return false, nil
	}
	j := m.begin(key, kind)
	m.mu.Unlock()
	go func() {
		defer func() {
			m.mu.Lock()
			delete(m.jobs, key)
			m.mu.Unlock()
			close(j.done)
		}()
		select {
		case m.sem <- struct{}{}:
		case <-ctx.Done():
			j.err = ctx.Err()
			return
		}
		defer func() { <-m.sem }()
		j.res, j.err = fn(ctx, t, m.Env, connID, j.p, actor)
		if kind == "sync" && m.SyncEnded != nil && ctx.Err() == nil {
			m.SyncEnded(context.WithoutCancel(ctx), t, j.err)
		}
		if j.err != nil {
			m.Log.Warn("Microsoft 365 "+kind+" failed", "tenant", t.ID, "connection", connID, "err", j.err.Error())
		} else {
			m.Log.Info("Microsoft 365 "+kind, "tenant", t.ID, "connection", connID, "kind", j.res.Kind, "users", j.res.Users, "groups", j.res.Groups,
				"reports", len(j.res.Reports))
		}
	}()
	return true, nil
}

// begin records a new job of a connection as running; m.mu is held.
func (m *Manager) begin(key, kind string) *job {
	j := &job{kind: kind, p: &Progress{}, done: make(chan struct{})}
	m.jobs[key] = j
	m.last[key] = j
	m.runs[key]++
	return j
}

// Wait waits for the job of a connection started last — running, or
// already ended — and returns its result; a zero Result and nil when no
// job has run for it in this process.
func (m *Manager) Wait(ctx context.Context, tenantID, connID string) (Result, error) {
	m.init()
	m.mu.Lock()
	j := m.last[tenantID+"/"+connID]
	m.mu.Unlock()
	if j == nil {
		return Result{}, nil
	}
	select {
	case <-j.done:
		return j.res, j.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Runs is the number of jobs (syncs, report syncs, applies) started for a
// connection in this process.
func (m *Manager) Runs(tenantID, connID string) int {
	m.init()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runs[tenantID+"/"+connID]
}

// Exclusive runs fn (an apply) while no other job runs for the connection.
func (m *Manager) Exclusive(tenantID, connID string, fn func() error) error {
	m.init()
	key := tenantID + "/" + connID
	m.mu.Lock()
	if m.jobs[key] != nil {
		m.mu.Unlock()
		return allot.Errorf(allot.ECONFLICT, "A sync or apply of connection %s is running; try again when it has finished.", connID)
	}
	j := m.begin(key, "apply")
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.jobs, key)
		m.mu.Unlock()
		close(j.done)
	}()
	return fn()
}

// View returns a connection as shown, with its running job's progress.
func (m *Manager) View(s *tenant.State, tenantID string, c *Connection) View {
	m.init()
	v := c.View(tenantID, State(s, c.ID))
	m.mu.Lock()
	j := m.jobs[tenantID+"/"+c.ID]
	m.mu.Unlock()
	if j != nil {
		pv := j.p.View()
		if pv.Phase == "" {
			pv.Phase = j.kind
		}
		v.Sync.Running = &pv
	} else if v.Sync.StartedAt != nil && v.Sync.FinishedAt == nil {
		v.Sync.Interrupted = true
	}
	return v
}

// Health lists every connection of every loaded tenant (the partner's
// view), by tenant and connection id.
func (m *Manager) Health() []View {
	var out []View
	for _, info := range m.RT.List() {
		t, ok := m.RT.Get(info.ID)
		if !ok {
			continue
		}
		t.Read(func(s *tenant.State) {
			for _, c := range List(s) {
				out = append(out, m.View(s, t.ID, c))
			}
		})
	}
	return out
}

// due reports whether a connection's scheduled sync is due at now.
func due(c *Connection, st SyncState, now time.Time) bool {
	if c.SyncEvery <= 0 {
		return false
	}
	last := st.StartedAt
	if st.FinishedAt != nil {
		last = st.FinishedAt
	}
	return last == nil || now.Sub(*last) >= time.Duration(c.SyncEvery)
}

// Schedule starts each connection's sync when it is due (every
// Connection.SyncEvery after the last one finished) and its usage reports
// sync (every ReportsEvery, daily by default) when no directory sync is
// due, checking every tick, until ctx ends.
func (m *Manager) Schedule(ctx context.Context, tick time.Duration) {
	m.init()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		m.ScheduleOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ScheduleOnce starts the syncs that are due now, of the tenants this
// process acts for (Acts).
func (m *Manager) ScheduleOnce(ctx context.Context) {
	m.init()
	now := m.Env.now()
	for _, info := range m.RT.List() {
		t, ok := m.RT.Get(info.ID)
		if !ok {
			continue
		}
		var dueIDs, reportIDs []string
		t.Read(func(s *tenant.State) {
			for _, c := range List(s) {
				st := State(s, c.ID)
				if due(c, st, now) {
					dueIDs = append(dueIDs, c.ID)
				} else if reportsDue(c, st, now) {
					reportIDs = append(reportIDs, c.ID)
				}
			}
		})
		if len(dueIDs)+len(reportIDs) == 0 || (m.Acts != nil && !m.Acts(ctx, t.ID)) {
			continue
		}
		for _, id := range dueIDs {
			if _, err := m.StartSync(t, id, "Microsoft 365 sync (scheduled)"); err != nil {
				m.Log.Warn("starting a scheduled Microsoft 365 sync", "tenant", t.ID, "connection", id, "err", err.Error())
			}
		}
		// A connection's reports wait for its directory sync (one job per
		// connection): they start at a later tick.
		for _, id := range reportIDs {
			if _, err := m.StartReports(t, id, "Microsoft 365 reports sync (scheduled)"); err != nil {
				m.Log.Warn("starting a scheduled Microsoft 365 reports sync", "tenant", t.ID, "connection", id, "err", err.Error())
			}
		}
	}
}
