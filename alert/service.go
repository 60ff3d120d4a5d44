package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"allot"
	"allot/licensing"
	"allot/position"
	"allot/store"
	"allot/subscription"
	"allot/tenant"
)

// Event is what an endpoint receives (the JSON body of a webhook; Slack,
// Teams and email render it). ID is the same for every endpoint of one
// notification: a receiver that may see a delivery twice (delivery is at
// least once) drops repeated ids.
type Event struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"` // alert.opened | alert.repeated | alert.resolved | test
	TenantID   string     `json:"tenantId"`
	RuleID     string     `json:"ruleId,omitempty"`
	RuleName   string     `json:"ruleName,omitempty"`
	Condition  Condition  `json:"condition,omitempty"`
	Subject    string     `json:"subject,omitempty"`
	Summary    string     `json:"summary"`
	OpenedAt   *time.Time `json:"openedAt,omitempty"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
	At         time.Time  `json:"at"`
	// Attachments go with an email (a scheduled report: package
	// reportsched); webhooks, Slack and Teams do not carry them.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is a file attached to an email.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"data"`
}

// ReportType is the type of a scheduled report's event.
const ReportType = "report"

// Event types.
const (
	Opened   = "alert.opened"
	Repeated = "alert.repeated"
	Resolved = "alert.resolved"
	TestType = "test"
)

// Config configures a Service.
type Config struct {
	Store  store.AlertStore
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// Deliver sends one event to one endpoint (default: DeliverHTTP for
	// webhook, Slack and Teams endpoints, SMTP for email).
	Deliver func(ctx context.Context, e Endpoint, ev Event, body []byte) Result
	// SMTP is the mail server email endpoints use (none: email endpoints'
	// jobs fail and are retried, then dead-lettered).
	SMTP *SMTP
	// Backoff is the wait before attempt n+1 after n failed attempts
	// (default 30 s doubled each time, at most 6 h).
	Backoff func(n int) time.Duration
	// MaxAttempts: a job that failed this often is dead (default 12).
	MaxAttempts int
	// Poll is how often the queue is read when nothing wakes it
	// (default 1 s).
	Poll time.Duration
	// Coalesce: after an evaluation round, the evaluator waits this long
	// before the next one (default 20 ms; negative: not at all), so the
	// commits of a burst are evaluated together — one evaluation per
	// Coalesce instead of one per commit — while the first commit after a
	// quiet spell is evaluated at once.
	Coalesce time.Duration
	// Acts reports whether this process acts for a tenant now: delivers
	// its jobs, and evaluates it at start-up. With several processes on
	// one database (allot serve --ha) it is the tenant's lease
	// (lease.Keeper.Acts), so one process delivers a job and one evaluates
	// a tenant (after its commits: the writer, which holds the lease); the
	// others leave them alone. nil: this process acts for every tenant.
	Acts func(ctx context.Context, tenantID string) bool
}

// Result is one delivery attempt's outcome.
type Result struct {
	OK     bool
	Status int
	Err    string
}

// Service evaluates the rules of the tenants of a runtime after their
// commits and delivers the alerts. Create it before the runtime (its
// AfterCommit is the runtime's hook) and Start it once the runtime is open.
type Service struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	rt     *tenant.Runtime
	dirty  map[string]Touched
	due    map[string]time.Time // tenant → the next timed check
	states map[string]map[stateKey]store.AlertState
	rules  map[string][]Rule                      // decoded rules per tenant, dropped when they change
	subs   map[string][]subscription.Subscription // decoded subscriptions per tenant, likewise
	// summaries held back per tenant (commitPlan); used under evalMu.
	summaries map[string]*summaries
	// deferred: tenants whose evaluation was left to the process that
	// acts for them (Config.Acts, RunPending); evaluated in full after
	// this process's first commit of theirs (it took them over).
	deferred map[string]bool

	targets map[string]func(st *tenant.State, id string) (Endpoint, bool) // RegisterTarget

	wake    chan struct{}
	jobWake chan struct{}
	evalMu  sync.Mutex // one evaluation at a time
}

type stateKey struct{ rule, subject string }

// New returns a service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration {
			d := 30 * time.Second << min(n-1, 20)
			return min(d, 6*time.Hour)
		}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Coalesce == 0 {
		cfg.Coalesce = 20 * time.Millisecond
	}
	s := &Service{cfg: cfg, log: cfg.Logger, dirty: map[string]Touched{}, due: map[string]time.Time{},
		states: map[string]map[stateKey]store.AlertState{}, rules: map[string][]Rule{}, subs: map[string][]subscription.Subscription{},
		summaries: map[string]*summaries{}, deferred: map[string]bool{}, wake: make(chan struct{}, 1), jobWake: make(chan struct{}, 1)}
	if s.cfg.Deliver == nil {
		s.cfg.Deliver = s.deliver
	}
	return s
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// AfterCommit is the runtime's hook (tenant.Options.AfterCommit): it
// notes what the batch touched in the tenant's pending work and wakes the
// evaluator. It runs on the tenant's writer goroutine: it costs a few map
// operations per committed batch, and evaluates nothing.
func (s *Service) AfterCommit(tenantID string, d *licensing.Delta, objects []store.Mutation) {
	s.mu.Lock()
	x := s.dirty[tenantID]
	rules, subs := x.add(d, objects)
	if s.deferred[tenantID] {
		delete(s.deferred, tenantID)
		x.All = true
	}
	if x.Empty() {
		s.mu.Unlock()
		return
	}
	s.dirty[tenantID] = x
	if rules {
		delete(s.rules, tenantID)
	}
	if subs {
		delete(s.subs, tenantID)
	}
	s.mu.Unlock()
	poke(s.wake)
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Start evaluates every tenant of rt once (what happened while no
// service ran: startUp) and then, until ctx ends, evaluates tenants after
// their commits and at their timed checks, and delivers queued jobs.
func (s *Service) Start(ctx context.Context, rt *tenant.Runtime) {
	s.mu.Lock()
	s.rt = rt
	s.mu.Unlock()
	go s.startUp(ctx, rt)
	go s.evalLoop(ctx)
	go s.deliverLoop(ctx)
}

// startUp queues a full evaluation of each tenant of rt as it loads —
// with Config.Acts, of each tenant with rules (RunPending then evaluates
// only those this process acts for; asking for a tenant without rules
// would take its lease for nothing).
func (s *Service) startUp(ctx context.Context, rt *tenant.Runtime) {
	rt.EachLoaded(ctx, func(t *tenant.Tenant) {
		if s.cfg.Acts != nil {
			rules := true
			t.Read(func(st *tenant.State) {
				rs, err := Rules(st)
				rules = err != nil || len(rs) > 0
			})
			if !rules {
				return
			}
		}
		s.markAll(t.ID)
	})
}

// markAll queues a full evaluation of a tenant.
func (s *Service) markAll(id string) {
	s.mu.Lock()
	x := s.dirty[id]
	x.All = true
	s.dirty[id] = x
	s.mu.Unlock()
	poke(s.wake)
}

// Attach gives the service its runtime and marks every tenant for a full
// evaluation, without starting its loops: RunPending and DeliverDue then
// do their work when called (tests, tools).
func (s *Service) Attach(rt *tenant.Runtime) {
	s.mu.Lock()
	s.rt = rt
	for _, info := range rt.List() {
		x := s.dirty[info.ID]
		x.All = true
		s.dirty[info.ID] = x
	}
	s.mu.Unlock()
	poke(s.wake)
}

func (s *Service) evalLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.RunPending(ctx)
		if s.cfg.Coalesce > 0 {
			timer.Reset(s.cfg.Coalesce)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		wait := time.Hour
		s.mu.Lock()
		now := s.now()
		for _, at := range s.due {
			wait = min(wait, max(at.Sub(now), 10*time.Millisecond))
		}
		s.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// RunPending evaluates the tenants that committed since the last call and
// those whose timed check is due — with Config.Acts, those this process
// acts for. The work of the others (a start-up evaluation, a timed check
// of a tenant another process took over) is left to the process that
// acts for them; should this process take one over, its first commit
// there evaluates it in full (AfterCommit).
func (s *Service) RunPending(ctx context.Context) {
	s.mu.Lock()
	rt := s.rt
	work := s.dirty
	s.dirty = map[string]Touched{}
	now := s.now()
	for id, at := range s.due {
		if !at.After(now) {
			x := work[id]
			x.Time = true
			work[id] = x
			delete(s.due, id)
		}
	}
	s.mu.Unlock()
	if rt == nil {
		return
	}
	tenant.EachOf(rt, work, func(t *tenant.Tenant, w Touched) {
		if s.cfg.Acts != nil && !s.cfg.Acts(ctx, t.ID) {
			s.mu.Lock()
			s.deferred[t.ID] = true
			s.mu.Unlock()
			return
		}
		if err := s.Evaluate(ctx, t, w); err != nil {
			s.log.Error("alert evaluation failed; it runs again at the next commit", "tenant", t.ID, "err", err)
			s.mu.Lock()
			x := s.dirty[t.ID]
			x.Merge(w)
			s.dirty[t.ID] = x
			s.due[t.ID] = s.now().Add(time.Minute)
			s.mu.Unlock()
		}
	})
}

func (s *Service) rulesOf(t *tenant.Tenant, st *tenant.State) ([]Rule, error) {
	s.mu.Lock()
	rs, ok := s.rules[t.ID]
	s.mu.Unlock()
	if ok {
		return rs, nil
	}
	rs, err := Rules(st)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.rules[t.ID] = rs
	s.mu.Unlock()
	return rs, nil
}

func (s *Service) statesOf(ctx context.Context, tenantID string) (map[stateKey]store.AlertState, error) {
	s.mu.Lock()
	m, ok := s.states[tenantID]
	s.mu.Unlock()
	if ok {
		return m, nil
	}
	list, err := s.cfg.Store.AlertStates(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	m = make(map[stateKey]store.AlertState, len(list))
	for _, a := range list {
		m[stateKey{a.RuleID, a.Subject}] = a
	}
	s.mu.Lock()
	s.states[tenantID] = m
	s.mu.Unlock()
	return m, nil
}

// Evaluate evaluates the rules of a tenant that touched affects (and,
// with touched.Time, those that change with time), records the alerts that
// open, repeat or resolve and queues their notifications, in one store
// transaction.
func (s *Service) Evaluate(ctx context.Context, t *tenant.Tenant, touched Touched) error {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	now := s.now()
	states, err := s.statesOf(ctx, t.ID)
	if err != nil {
		return err
	}
	// Under the read lock: the rules, and a copy of what the rules to
	// evaluate read (Facts.Prepare). The rules are evaluated, and their
	// summaries written, after it is released.
	var rules, due []Rule
	var facts *Facts
	var rerr error
	t.Read(func(st *tenant.State) {
		rules, rerr = s.rulesOf(t, st)
		if rerr != nil {
			return
		}
		facts = NewFacts(st)
		s.mu.Lock()
		if subs, ok := s.subs[t.ID]; ok {
			facts.subs, facts.subsRead = subs, true
		}
		s.mu.Unlock()
		for _, r := range rules {
			if r.Disabled || !(touched.Affects(r) || (touched.Time && timed(r.Condition))) {
				continue
			}
			facts.Prepare(r)
			due = append(due, r)
		}
		facts.Detach()
	})
	if rerr != nil {
		return rerr
	}
	if facts.subsRead && facts.subsErr == nil {
		s.mu.Lock()
		s.subs[t.ID] = facts.subs
		s.mu.Unlock()
	}
	type result struct {
		rule   Rule
		firing []Firing
	}
	results := make([]result, 0, len(due))
	var next time.Time
	for _, r := range due {
		f, n := facts.Evaluate(r, now)
		results = append(results, result{r, f})
		next = earliest(next, n)
	}
	p := plan{now: now, tenantID: t.ID, states: states}
	for _, res := range results {
		p.reconcile(res.rule, res.firing)
	}
	p.timers(rules)
	if err := s.commitPlan(ctx, &p); err != nil {
		return err
	}
	next = earliest(next, p.next)
	if !next.IsZero() {
		s.mu.Lock()
		if at, ok := s.due[t.ID]; !ok || next.Before(at) {
			s.due[t.ID] = next
		}
		s.mu.Unlock()
		poke(s.wake)
	}
	return nil
}

func timed(c Condition) bool {
	return c == WaitingTooLong || c == SubscriptionEnding || c == SubscriptionRenewing
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// summaryEvery: an open alert whose summary alone changed (its count
// moved) is stored at most this often, or with the tenant's next other
// alert write. Its evaluation keeps the new summary in memory; a commit
// that moves a count thus writes nothing to the store.
const summaryEvery = time.Minute

// summaries are a tenant's alert summaries held back (summaryEvery):
// when each state was last stored, and those whose stored summary is
// behind. Used under evalMu only.
type summaries struct {
	savedAt map[stateKey]time.Time
	unsaved map[stateKey]store.AlertState
}

// commitPlan stores the plan's changed states (those whose summary alone
// changed are held back: summaryEvery) and jobs, then updates the cache;
// p.next gets the time the oldest held-back summary is due.
func (s *Service) commitPlan(ctx context.Context, p *plan) error {
	s.mu.Lock()
	sm := s.summaries[p.tenantID]
	if sm == nil {
		sm = &summaries{savedAt: map[stateKey]time.Time{}, unsaved: map[stateKey]store.AlertState{}}
		s.summaries[p.tenantID] = sm
	}
	s.mu.Unlock()
	if len(p.changed) == 0 && len(sm.unsaved) == 0 {
		return nil
	}
	var jobs []store.AlertJob
	for _, n := range p.notices {
		for _, ep := range n.rule.Endpoints {
			jobs = append(jobs, newJob(p.tenantID, ep, n.event, p.now))
		}
	}
	held := func(k stateKey) bool { return p.now.Before(sm.savedAt[k].Add(summaryEvery)) }
	var write []store.AlertState
	for _, a := range p.changed {
		k := stateKey{a.RuleID, a.Subject}
		delete(sm.unsaved, k) // a is newer
		if !p.real[k] && held(k) {
			sm.unsaved[k] = a
			continue
		}
		write = append(write, a)
	}
	var flushed []store.AlertState
	for k, a := range sm.unsaved {
		if len(write) > 0 || len(jobs) > 0 || !held(k) {
			flushed = append(flushed, a)
			delete(sm.unsaved, k)
		}
	}
	write = append(write, flushed...)
	if len(write) > 0 || len(jobs) > 0 {
		if err := s.cfg.Store.RecordAlerts(ctx, write, jobs); err != nil {
			for _, a := range flushed { // the cache has them already
				sm.unsaved[stateKey{a.RuleID, a.Subject}] = a
			}
			return err
		}
	}
	for _, a := range write {
		sm.savedAt[stateKey{a.RuleID, a.Subject}] = p.now
	}
	for k := range sm.unsaved {
		p.next = earliest(p.next, sm.savedAt[k].Add(summaryEvery))
	}
	s.mu.Lock()
	m := s.states[p.tenantID]
	for _, a := range p.changed {
		m[stateKey{a.RuleID, a.Subject}] = a
	}
	s.mu.Unlock()
	if len(jobs) > 0 {
		poke(s.jobWake)
	}
	return nil
}

func newJob(tenantID, endpointID string, ev Event, now time.Time) store.AlertJob {
	body, _ := json.Marshal(ev) // an Event always marshals
	return store.AlertJob{TenantID: tenantID, ID: ev.ID + "." + endpointID, EndpointID: endpointID, Payload: body,
		State: store.JobPending, RunAt: now, CreatedAt: now, UpdatedAt: now}
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// plan is what one evaluation changes.
type plan struct {
	now      time.Time
	tenantID string
	states   map[stateKey]store.AlertState // read only
	changed  []store.AlertState
	notices  []notice
	next     time.Time
	seen     map[stateKey]bool
	// real: states changed by more than their summary (stored at once).
	real map[stateKey]bool
}

type notice struct {
	rule  Rule
	event Event
}

func (p *plan) set(a store.AlertState) {
	if p.real == nil {
		p.real = map[stateKey]bool{}
	}
	p.real[stateKey{a.RuleID, a.Subject}] = true
	p.setSummary(a)
}

// setSummary records a state whose summary alone changed (unless set
// changes it too).
func (p *plan) setSummary(a store.AlertState) {
	if p.seen == nil {
		p.seen = map[stateKey]bool{}
	}
	k := stateKey{a.RuleID, a.Subject}
	for i := range p.changed {
		if p.changed[i].RuleID == a.RuleID && p.changed[i].Subject == a.Subject {
			p.changed[i] = a
			return
		}
	}
	p.seen[k] = true
	p.changed = append(p.changed, a)
}

func (p *plan) get(k stateKey) (store.AlertState, bool) {
	for _, a := range p.changed {
		if a.RuleID == k.rule && a.Subject == k.subject {
			return a, true
		}
	}
	a, ok := p.states[k]
	return a, ok
}

func (p *plan) notify(r Rule, a store.AlertState, typ string) {
	ev := Event{ID: newID(), Type: typ, TenantID: p.tenantID, RuleID: r.ID, RuleName: r.DisplayName, Condition: r.Condition,
		Subject: a.Subject, Summary: a.Summary, At: p.now}
	opened := a.OpenedAt
	ev.OpenedAt = &opened
	if typ == Resolved {
		res := a.ResolvedAt
		ev.ResolvedAt = &res
	}
	p.notices = append(p.notices, notice{r, ev})
}

// reconcile moves a rule's alerts to what its evaluation found: new
// subjects open (and are notified), open ones whose condition cleared
// start their quiet period or resolve (and are notified).
func (p *plan) reconcile(r Rule, firing []Firing) {
	now := p.now
	hold := map[string]bool{}
	for _, f := range firing {
		hold[f.Subject] = true
		a, ok := p.get(stateKey{r.ID, f.Subject})
		switch {
		case !ok || !a.Open:
			a = store.AlertState{TenantID: p.tenantID, RuleID: r.ID, Subject: f.Subject, Open: true, OpenedAt: now,
				NotifiedAt: now, Notices: 1, Summary: f.Summary, ResolvedAt: a.ResolvedAt}
			p.set(a)
			p.notify(r, a, Opened)
		case !a.ClearSince.IsZero():
			a.ClearSince, a.Summary = time.Time{}, f.Summary
			p.set(a)
		case a.Summary != f.Summary:
			a.Summary = f.Summary
			p.setSummary(a)
		}
	}
	for k, a := range p.states {
		if k.rule != r.ID || !a.Open || hold[k.subject] {
			continue
		}
		a, _ = p.get(k)
		if a.ClearSince.IsZero() {
			a.ClearSince = now
			p.set(a)
		}
	}
}

// timers resolves the alerts whose quiet period has passed, repeats those
// due, closes those of rules that are gone or disabled, and notes the next
// time one of these is due.
func (p *plan) timers(rules []Rule) {
	byID := make(map[string]Rule, len(rules))
	for _, r := range rules {
		byID[r.ID] = r
	}
	keys := make([]stateKey, 0, len(p.states))
	for k := range p.states {
		keys = append(keys, k)
	}
	for _, a := range p.changed {
		if _, ok := p.states[stateKey{a.RuleID, a.Subject}]; !ok {
			keys = append(keys, stateKey{a.RuleID, a.Subject})
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return keys[i].subject < keys[j].subject
	})
	for _, k := range keys {
		a, _ := p.get(k)
		if !a.Open {
			continue
		}
		r, ok := byID[k.rule]
		if !ok || r.Disabled {
			// Nobody is told: the rule that would name the recipients is gone.
			a.Open, a.ResolvedAt, a.ClearSince = false, p.now, time.Time{}
			p.set(a)
			continue
		}
		if !a.ClearSince.IsZero() {
			at := a.ClearSince.Add(time.Duration(r.QuietMinutes) * time.Minute)
			if !p.now.Before(at) {
				a.Open, a.ResolvedAt, a.ClearSince, a.NotifiedAt = false, p.now, time.Time{}, p.now
				p.set(a)
				p.notify(r, a, Resolved)
			} else {
				p.next = earliest(p.next, at)
			}
			continue
		}
		if r.RepeatMinutes > 0 && (r.MaxRepeats == 0 || a.Notices-1 < r.MaxRepeats) {
			at := a.NotifiedAt.Add(time.Duration(r.RepeatMinutes) * time.Minute)
			if !p.now.Before(at) {
				a.NotifiedAt = p.now
				a.Notices++
				p.set(a)
				p.notify(r, a, Repeated)
				at = p.now.Add(time.Duration(r.RepeatMinutes) * time.Minute)
				if r.MaxRepeats != 0 && a.Notices-1 >= r.MaxRepeats {
					continue
				}
			}
			p.next = earliest(p.next, at)
		}
	}
}

// ReportOperation records the outcome of a sync or import of a tenant
// (source "import" or "sync"): a failure opens the alerts of the
// OperationFailed rules that watch the source, a success resolves them.
func (s *Service) ReportOperation(ctx context.Context, t *tenant.Tenant, source string, failure error) error {
	var f []Firing
	if failure != nil {
		msg := failure.Error()
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		f = []Firing{{Subject: source, Summary: "The " + source + " failed: " + msg}}
	}
	return s.report(ctx, t, func(r Rule) ([]Firing, bool) {
		if r.Condition != OperationFailed || (r.Source != "" && r.Source != source) {
			return nil, false
		}
		return f, true
	}, source)
}

// ReportPosition evaluates the position rules with a computed position's
// figures: the idle seats' monthly cost and the users who hold nothing
// that meets their needs.
func (s *Service) ReportPosition(ctx context.Context, t *tenant.Tenant, idleMonthlyCost float64, currency string, underLicensed int) error {
	return s.report(ctx, t, func(r Rule) ([]Firing, bool) {
		switch {
		case r.Condition == IdleSeatsCost && idleMonthlyCost > r.Threshold:
			return []Firing{{Subject: "position", Summary: "Idle seats cost " + money(idleMonthlyCost, currency) + " a month (above " + money(r.Threshold, currency) + ")."}}, true
		case r.Condition == UnderLicensed && float64(underLicensed) > r.Threshold:
			return []Firing{{Subject: "position", Summary: itoa(underLicensed) + " users hold no license that meets their needs."}}, true
		case r.Condition == IdleSeatsCost || r.Condition == UnderLicensed:
			return nil, true
		}
		return nil, false
	}, "")
}

// report reconciles the rules eval accepts with what it found; only the
// subject only (when not "") is resolved by an absence.
func (s *Service) report(ctx context.Context, t *tenant.Tenant, eval func(Rule) ([]Firing, bool), only string) error {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	var rules []Rule
	var rerr error
	t.Read(func(st *tenant.State) { rules, rerr = s.rulesOf(t, st) })
	if rerr != nil {
		return rerr
	}
	states, err := s.statesOf(ctx, t.ID)
	if err != nil {
		return err
	}
	p := plan{now: s.now(), tenantID: t.ID, states: states}
	for _, r := range rules {
		if r.Disabled {
			continue
		}
		f, ok := eval(r)
		if !ok {
			continue
		}
		if only != "" && len(f) == 0 {
			// A success resolves this source's alert, not another's.
			sub := map[stateKey]store.AlertState{}
			for k, a := range states {
				if k.rule == r.ID && k.subject == only {
					sub[k] = a
				}
			}
			q := plan{now: p.now, tenantID: t.ID, states: sub, changed: p.changed, notices: p.notices, real: p.real}
			q.reconcile(r, nil)
			p.changed, p.notices, p.real = q.changed, q.notices, q.real
			continue
		}
		p.reconcile(r, f)
	}
	p.timers(rules)
	if err := s.commitPlan(ctx, &p); err != nil {
		return err
	}
	if !p.next.IsZero() {
		s.mu.Lock()
		if at, ok := s.due[t.ID]; !ok || p.next.Before(at) {
			s.due[t.ID] = p.next
		}
		s.mu.Unlock()
		poke(s.wake)
	}
	return nil
}

// Test queues a test notification to an endpoint and returns its job.
func (s *Service) Test(ctx context.Context, t *tenant.Tenant, endpointID string) (store.AlertJob, error) {
	var ok bool
	t.Read(func(st *tenant.State) { _, ok = EndpointOf(st, endpointID) })
	if !ok {
		return store.AlertJob{}, allot.Errorf(allot.ENOTFOUND, "Alert endpoint %q does not exist.", endpointID)
	}
	now := s.now()
	ev := Event{ID: newID(), Type: TestType, TenantID: t.ID, Summary: "A test notification from allot: this endpoint receives alerts.", At: now}
	j := newJob(t.ID, endpointID, ev, now)
	if err := s.cfg.Store.RecordAlerts(ctx, nil, []store.AlertJob{j}); err != nil {
		return store.AlertJob{}, err
	}
	poke(s.jobWake)
	return j, nil
}

// Retry queues a dead job again (ENOTFOUND if it is not dead).
func (s *Service) Retry(ctx context.Context, tenantID, jobID string) error {
	jobs, err := s.cfg.Store.AlertJobs(ctx, tenantID, store.JobDead, 1000)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.ID == jobID {
			now := s.now()
			j.State, j.Attempts, j.RunAt, j.UpdatedAt = store.JobPending, 0, now, now
			if err := s.cfg.Store.FinishAttempt(ctx, j, store.AlertAttempt{TenantID: tenantID, EndpointID: j.EndpointID, JobID: j.ID,
				At: now, Error: "queued again by an administrator"}); err != nil {
				return err
			}
			poke(s.jobWake)
			return nil
		}
	}
	return allot.Errorf(allot.ENOTFOUND, "No dead alert job %q.", jobID)
}

// RegisterTarget lets another package deliver through the queue: a job
// whose EndpointID starts with prefix is delivered to the endpoint
// resolve returns from the tenant's state at the time of the attempt
// (false: it is gone, and the job is dead). Package graphsub registers its
// Graph change notifications so. Call it before Start.
func (s *Service) RegisterTarget(prefix string, resolve func(st *tenant.State, id string) (Endpoint, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.targets == nil {
		s.targets = map[string]func(*tenant.State, string) (Endpoint, bool){}
	}
	s.targets[prefix] = resolve
}

// endpointOf resolves a job's endpoint: a registered target's, or an
// alert endpoint.
func (s *Service) endpointOf(st *tenant.State, id string) (Endpoint, bool) {
	s.mu.Lock()
	targets := s.targets
	s.mu.Unlock()
	for prefix, resolve := range targets {
		if strings.HasPrefix(id, prefix) {
			return resolve(st, id)
		}
	}
	return EndpointOf(st, id)
}

// Enqueue queues jobs (for a registered target) in one transaction:
// once it returns nil they are delivered at least once. A job whose id
// is queued already is refused with store.ErrConflict (the whole call).
func (s *Service) Enqueue(ctx context.Context, jobs []store.AlertJob) error {
	if len(jobs) == 0 {
		return nil
	}
	if err := s.cfg.Store.RecordAlerts(ctx, nil, jobs); err != nil {
		return err
	}
	poke(s.jobWake)
	return nil
}

// Now is the service's clock (Config.Now), in UTC.
func (s *Service) Now() time.Time { return s.now() }

// Forget drops what the service keeps of a tenant (after a delete).
func (s *Service) Forget(tenantID string) {
	s.mu.Lock()
	delete(s.states, tenantID)
	delete(s.rules, tenantID)
	delete(s.subs, tenantID)
	delete(s.summaries, tenantID)
	delete(s.due, tenantID)
	delete(s.dirty, tenantID)
	delete(s.deferred, tenantID)
	s.mu.Unlock()
}

var errNoEndpoint = errors.New("the endpoint no longer exists")

// ReportComputed evaluates the position rules with a tenant-wide position
// just computed: the idle seats' monthly cost is what removing them saves
// (Totals.SavingsByKind["idle"], from the price list), the under-licensed
// users the position's underLicensed findings.
func (s *Service) ReportComputed(ctx context.Context, t *tenant.Tenant, pos *position.Position) error {
	currency := ""
	if pos.Currency != nil {
		currency = *pos.Currency
	}
	return s.ReportPosition(ctx, t, pos.Totals.SavingsByKind[position.Idle], currency, pos.Totals.FindingsByKind[position.UnderLicensed])
}
