package graphsub

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"allot/alert"
	"allot/deleteditems"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// Job endpoint prefixes: a change notification's job goes to the
// subscription's notificationUrl, a lifecycle notification's to its
// lifecycleNotificationUrl (alert.Service.RegisterTarget).
const (
	targetNotify    = "graphsub:"
	targetLifecycle = "graphsub-lifecycle:"
)

// MaxPerPayload bounds the change notifications of one POST (one job).
const MaxPerPayload = 100

// ReauthorizeBefore is how long before a subscription expires its
// reauthorizationRequired lifecycle notification is sent (once per
// expiration time; a renewal moves it).
const ReauthorizeBefore = time.Hour

// Notification is one change or lifecycle notification (Graph's
// changeNotification): a change has ChangeType, Resource and
// ResourceData; a lifecycle notification has LifecycleEvent.
type Notification struct {
	SubscriptionID                 string        `json:"subscriptionId"`
	SubscriptionExpirationDateTime time.Time     `json:"subscriptionExpirationDateTime"`
	ChangeType                     string        `json:"changeType,omitempty"`
	LifecycleEvent                 string        `json:"lifecycleEvent,omitempty"`
	Resource                       string        `json:"resource,omitempty"`
	ResourceData                   *ResourceData `json:"resourceData,omitempty"`
	ClientState                    *string       `json:"clientState"`
	TenantID                       string        `json:"tenantId"`
}

// ResourceData identifies the changed user or group.
type ResourceData struct {
	ODataType      string `json:"@odata.type"`
	ODataID        string `json:"@odata.id"`
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
}

// Collection is the body POSTed to a notification URL (Graph's
// changeNotificationCollection).
type Collection struct {
	Value []Notification `json:"value"`
}

// change is one changed user or group of a commit.
type change struct {
	group bool
	id    string
	typ   string // Updated or Deleted
}

// pending is what the commits of one tenant left to notify.
type pending struct {
	changes []change
	missed  bool // a commit whose changes are not known (a bulk change)
}

// Config configures a Notifier.
type Config struct {
	Alerts *alert.Service   // the queue the notifications go through
	Now    func() time.Time // default time.Now
	Logger *slog.Logger
	// Sweep is how often subscriptions near their expiration are looked
	// for (reauthorizationRequired); default 1 minute.
	Sweep time.Duration
}

// Notifier sends the change notifications of a runtime's tenants: its
// AfterCommit (part of tenant.Options.AfterCommit) notes the users and
// groups each commit changed, for the tenants that have subscriptions;
// its loop turns them into one queued job per subscription and payload.
type Notifier struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	rt      *tenant.Runtime
	active  map[string]bool   // tenants with stored subscriptions
	gen     map[string]uint64 // per tenant: commits that wrote subscriptions
	pending map[string]*pending
	reauth  map[string]bool // subscription id + expiration: queued
	wake    chan struct{}
}

// New returns a notifier and registers its targets with the alert queue.
func New(cfg Config) *Notifier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = time.Minute
	}
	n := &Notifier{cfg: cfg, log: cfg.Logger, active: map[string]bool{}, gen: map[string]uint64{}, pending: map[string]*pending{},
		reauth: map[string]bool{}, wake: make(chan struct{}, 1)}
	cfg.Alerts.RegisterTarget(targetNotify, n.resolve(false))
	cfg.Alerts.RegisterTarget(targetLifecycle, n.resolve(true))
	return n
}

func (n *Notifier) now() time.Time { return n.cfg.Now().UTC() }

// resolve is the alert queue's lookup of a job's URL: the subscription
// must still be active when the job is delivered.
func (n *Notifier) resolve(lifecycle bool) func(*tenant.State, string) (alert.Endpoint, bool) {
	prefix := targetNotify
	if lifecycle {
		prefix = targetLifecycle
	}
	return func(st *tenant.State, id string) (alert.Endpoint, bool) {
		s, ok := Get(st, strings.TrimPrefix(id, prefix), n.now())
		if !ok {
			return alert.Endpoint{}, false
		}
		u := s.NotificationURL
		if lifecycle {
			u = s.LifecycleNotificationURL
		}
		return alert.Endpoint{ID: id, Type: alert.Raw, URL: u}, u != ""
	}
}

// AfterCommit is the notifier's part of tenant.Options.AfterCommit. For a
// tenant without subscriptions it costs a map lookup and a look at the
// commit's object kinds; otherwise it copies the ids of the users and
// groups the commit changed.
func (n *Notifier) AfterCommit(tenantID string, d *licensing.Delta, objects []store.Mutation) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range objects {
		if objects[i].Kind == Kind && !objects[i].Delete {
			n.active[tenantID] = true
			n.gen[tenantID]++
			break
		}
	}
	if !n.active[tenantID] {
		return
	}
	p := n.pending[tenantID]
	if p == nil {
		p = &pending{}
		n.pending[tenantID] = p
	}
	if d == nil {
		p.missed = true
	} else {
		p.changes = append(p.changes, Changes(d, objects)...)
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Changes lists the users and groups a committed delta changed, as change
// notifications name them: a user or group created, changed (its
// properties, licenses or members) or soft-deleted (moved to deleted
// items) is "updated"; one deleted for good (never kept, or removed from
// deleted items) is "deleted". This is Graph's documented use of the two
// change types for users and groups.
func Changes(d *licensing.Delta, objects []store.Mutation) []change {
	users := map[string]string{}
	groups := map[string]string{}
	soft := map[string]bool{} // "u/"+id or "g/"+id put into deleted items
	for i := range objects {
		m := &objects[i]
		switch {
		case m.Kind == deleteditems.KindUser && !m.Delete:
			soft["u/"+m.ID] = true
		case m.Kind == deleteditems.KindGroup && !m.Delete:
			soft["g/"+m.ID] = true
		}
	}
	for id, put := range d.Users {
		users[id] = typeOf(put || soft["u/"+id])
	}
	for id, put := range d.Groups {
		groups[id] = typeOf(put || soft["g/"+id])
	}
	for k := range d.DirectLicenses {
		setUpdated(users, k[0])
	}
	for _, k := range d.Licenses {
		setUpdated(users, k[0])
	}
	for k := range d.GroupLicenses {
		setUpdated(groups, k[0])
	}
	for k := range d.Members {
		setUpdated(groups, k[0])
	}
	for i := range objects {
		m := &objects[i]
		switch {
		case m.Kind == deleteditems.KindUser && m.Delete:
			if _, ok := users[m.ID]; !ok {
				users[m.ID] = Deleted // purged or deleted for good from the bin
			}
		case m.Kind == deleteditems.KindGroup && m.Delete:
			if _, ok := groups[m.ID]; !ok {
				groups[m.ID] = Deleted
			}
		}
	}
	out := make([]change, 0, len(users)+len(groups))
	for id, t := range users {
		out = append(out, change{id: id, typ: t})
	}
	for id, t := range groups {
		out = append(out, change{group: true, id: id, typ: t})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].group != out[j].group {
			return !out[i].group
		}
		return out[i].id < out[j].id
	})
	return out
}

func typeOf(updated bool) string {
	if updated {
		return Updated
	}
	return Deleted
}

func setUpdated(m map[string]string, id string) {
	if _, ok := m[id]; !ok {
		m[id] = Updated
	}
}

// Start marks the tenants that have subscriptions and, until ctx ends,
// queues the notifications of their commits and the reauthorizationRequired
// notifications of subscriptions about to expire.
func (n *Notifier) Start(ctx context.Context, rt *tenant.Runtime) {
	n.mu.Lock()
	n.rt = rt
	n.mu.Unlock()
	go rt.EachLoaded(ctx, n.mark)
	go n.loop(ctx)
}

// Attach gives the notifier its runtime and marks the loaded tenants
// that have subscriptions, without starting its loop: RunPending and
// Sweep do the work when called (tests).
func (n *Notifier) Attach(rt *tenant.Runtime) {
	n.mu.Lock()
	n.rt = rt
	n.mu.Unlock()
	for _, info := range rt.List() {
		if t, ok := rt.Get(info.ID); ok {
			n.mark(t)
		}
	}
}

func (n *Notifier) mark(t *tenant.Tenant) {
	var has bool
	t.Read(func(st *tenant.State) { has = len(st.IDs(Kind)) > 0 })
	if has {
		n.mu.Lock()
		n.active[t.ID] = true
		n.mu.Unlock()
	}
}

func (n *Notifier) loop(ctx context.Context) {
	tick := time.NewTicker(n.cfg.Sweep)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
			n.RunPending(ctx)
		case <-tick.C:
			n.Sweep(ctx)
		}
	}
}

// RunPending queues the notifications of the commits noted since the
// last call. A tenant whose jobs could not be queued keeps them for the
// next call.
func (n *Notifier) RunPending(ctx context.Context) {
	n.mu.Lock()
	work := n.pending
	n.pending = map[string]*pending{}
	rt := n.rt
	n.mu.Unlock()
	if rt == nil {
		return
	}
	tenant.EachOf(rt, work, func(t *tenant.Tenant, w *pending) {
		if err := n.notify(ctx, t, w); err != nil {
			n.log.Error("graph change notifications: queueing failed; retried at the next commit", "tenant", t.ID, "err", err)
			n.mu.Lock()
			p := n.pending[t.ID]
			if p == nil {
				n.pending[t.ID] = w
			} else {
				p.changes = append(w.changes, p.changes...)
				p.missed = p.missed || w.missed
			}
			n.mu.Unlock()
		}
	})
}

func (n *Notifier) notify(ctx context.Context, t *tenant.Tenant, p *pending) error {
	now := n.now()
	n.mu.Lock()
	gen := n.gen[t.ID]
	n.mu.Unlock()
	var subs []Subscription
	var err error
	t.Read(func(st *tenant.State) { subs, err = List(st, now) })
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		// Read not under n.mu: AfterCommit takes n.mu while the
		// tenant's readers are locked out. A subscription stored since
		// gen was read keeps the tenant marked.
		var stored bool
		t.Read(func(st *tenant.State) { stored = len(st.IDs(Kind)) > 0 })
		n.mu.Lock()
		if !stored && n.gen[t.ID] == gen {
			delete(n.active, t.ID)
		}
		n.mu.Unlock()
		return nil
	}
	var jobs []store.AlertJob
	for i := range subs {
		s := &subs[i]
		target, _ := ParseResource(s.Resource)
		var items []Notification
		for _, c := range p.changes {
			if target.Matches(c.group, c.id) && s.Wants(c.typ) {
				items = append(items, changeNotification(t.ID, s, c))
			}
		}
		for len(items) > 0 {
			k := min(len(items), MaxPerPayload)
			jobs = append(jobs, job(t.ID, targetNotify+s.ID, items[:k], now))
			items = items[k:]
		}
		if p.missed && s.LifecycleNotificationURL != "" {
			jobs = append(jobs, job(t.ID, targetLifecycle+s.ID, []Notification{lifecycle(t.ID, s, Missed)}, now))
		}
	}
	return n.cfg.Alerts.Enqueue(ctx, jobs)
}

func clientState(s *Subscription) *string {
	if s.ClientState == "" {
		return nil
	}
	c := s.ClientState
	return &c
}

func changeNotification(tenantID string, s *Subscription, c change) Notification {
	typ, coll := "#Microsoft.Graph.User", "Users/"
	if c.group {
		typ, coll = "#Microsoft.Graph.Group", "Groups/"
	}
	return Notification{SubscriptionID: s.ID, SubscriptionExpirationDateTime: s.ExpirationDateTime, ChangeType: c.typ,
		Resource: coll + c.id, ResourceData: &ResourceData{ODataType: typ, ODataID: coll + c.id, ID: c.id, OrganizationID: tenantID},
		ClientState: clientState(s), TenantID: tenantID}
}

func lifecycle(tenantID string, s *Subscription, event string) Notification {
	return Notification{SubscriptionID: s.ID, SubscriptionExpirationDateTime: s.ExpirationDateTime, LifecycleEvent: event,
		ClientState: clientState(s), TenantID: tenantID}
}

func job(tenantID, endpointID string, items []Notification, now time.Time) store.AlertJob {
	body, _ := json.Marshal(Collection{Value: items}) // always marshals
	return store.AlertJob{TenantID: tenantID, ID: "gs." + newUUID(), EndpointID: endpointID, Payload: body,
		State: store.JobPending, RunAt: now, CreatedAt: now, UpdatedAt: now}
}

// Sweep queues a reauthorizationRequired lifecycle notification for each
// active subscription with a lifecycleNotificationUrl that expires within
// ReauthorizeBefore, once per expiration time (the job's id names it, so
// a restart does not send it twice).
func (n *Notifier) Sweep(ctx context.Context) {
	n.mu.Lock()
	rt := n.rt
	ids := make([]string, 0, len(n.active))
	for id := range n.active {
		ids = append(ids, id)
	}
	n.mu.Unlock()
	if rt == nil {
		return
	}
	sort.Strings(ids)
	now := n.now()
	for _, id := range ids {
		t, ok := rt.Get(id)
		if !ok {
			continue
		}
		var subs []Subscription
		t.Read(func(st *tenant.State) { subs, _ = List(st, now) })
		for i := range subs {
			s := &subs[i]
			if s.LifecycleNotificationURL == "" || s.ExpirationDateTime.Sub(now) > ReauthorizeBefore {
				continue
			}
			key := s.ID + "." + strconv.FormatInt(s.ExpirationDateTime.UnixMilli(), 10)
			n.mu.Lock()
			done := n.reauth[key]
			n.mu.Unlock()
			if done {
				continue
			}
			j := job(id, targetLifecycle+s.ID, []Notification{lifecycle(id, s, ReauthorizationRequired)}, now)
			j.ID = "gs.reauth." + key
			err := n.cfg.Alerts.Enqueue(ctx, []store.AlertJob{j})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				n.log.Error("graph change notifications: queueing reauthorizationRequired failed", "tenant", id, "subscription", s.ID, "err", err)
				continue
			}
			n.mu.Lock()
			n.reauth[key] = true
			n.mu.Unlock()
		}
	}
}
