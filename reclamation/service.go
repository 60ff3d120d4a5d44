package reclamation

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"allot"
	"allot/alert"
	"allot/audit"
	"allot/licensing"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/tenant"
	"allot/usage"
)

// Config configures a Service.
type Config struct {
	// Alerts queues the notices (alert.Service.QueueMail); nil: campaigns
	// cannot start.
	Alerts *alert.Service
	// Key signs keep links (LinkKey of the server's secret key); nil:
	// campaigns cannot start.
	Key []byte
	// BaseURL is allot's public URL, which keep links start with (e.g.
	// https://allot.contoso.example).
	BaseURL string
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default slog.Default()
	// Poll is how often running campaigns are checked (default 1 min).
	Poll time.Duration
	// Acts reports whether this process runs a tenant's campaigns now.
	// With several processes on one database (allot serve --ha) it is the
	// tenant's lease (lease.Keeper.Acts): exactly one process steps a
	// tenant, and the steps' commands are fenced by that lease. nil: this
	// process runs every tenant's campaigns.
	Acts func(ctx context.Context, tenantID string) bool
}

// Service runs campaigns: the API's operations (with the service's
// clock) and, in Start's loop or when Step is called, the notices and the
// end of each running campaign's grace period.
type Service struct {
	cfg  Config
	log  *slog.Logger
	mu   sync.Mutex
	rt   *tenant.Runtime
	wake chan struct{}
}

// New returns a service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Minute
	}
	return &Service{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}
}

// Now is the service's clock (UTC, whole seconds: links carry seconds).
func (s *Service) Now() time.Time { return s.cfg.Now().UTC().Truncate(time.Second) }

// Attach gives the service its runtime without starting its loop (tests
// call Step).
func (s *Service) Attach(rt *tenant.Runtime) {
	s.mu.Lock()
	s.rt = rt
	s.mu.Unlock()
}

// Start runs Step every Poll (and when woken) until ctx ends.
func (s *Service) Start(ctx context.Context, rt *tenant.Runtime) {
	s.Attach(rt)
	go func() {
		t := time.NewTicker(s.cfg.Poll)
		defer t.Stop()
		for {
			if err := s.Step(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("reclamation step failed; it runs again", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-s.wake:
			}
		}
	}()
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func actorOf(c *Campaign) string { return "Reclamation campaign " + c.ID }

// Create builds a campaign from the tenant's position as of today (the
// service's clock) and stores it as a draft: the answer is the preview.
func (s *Service) Create(ctx context.Context, t *tenant.Tenant, spec Spec, actor, creatorKey string) (Campaign, []Member, error) {
	if err := spec.Validate(); err != nil {
		return Campaign{}, nil, err
	}
	now := s.Now()
	st, err := t.Snapshot(ctx)
	if err != nil {
		return Campaign{}, nil, err
	}
	pos, err := snapshotstore.Position(st, position.Options{AsOf: usage.DayOf(now), Now: now})
	if err != nil {
		return Campaign{}, nil, err
	}
	c, ms, err := Build(st, pos, spec, actor, creatorKey, now)
	if err != nil {
		return Campaign{}, nil, err
	}
	err = t.Do(ctx, licensing.Op{Actor: actor, Now: now}, func(tx *tenant.Tx) error {
		if err := checkNew(tx.State, &c); err != nil {
			return err
		}
		for i := range ms {
			if err := tx.Put(KindMember, memberKey(c.ID, ms[i].UserID, ms[i].SKUID), ms[i]); err != nil {
				return err
			}
		}
		tx.Audit(audit.Entry{Action: ActivityCreate, Why: c.DisplayName, Detail: detail(map[string]any{"campaignId": c.ID,
			"kinds": c.Kinds, "action": c.Action, "members": c.Members, "excluded": c.Excluded, "monthlySaving": c.MonthlySaving})})
		return tx.Put(KindCampaign, c.ID, c)
	})
	return c, ms, err
}

// Audit activities of campaigns.
const (
	ActivityCreate   = "Create reclamation campaign"
	ActivityApprove  = "Approve reclamation campaign"
	ActivityStart    = "Start reclamation campaign"
	ActivityNotices  = "Send reclamation notices"
	ActivityRemind   = "Send reclamation reminders"
	ActivityKeep     = "Keep license (reclamation)"
	ActivityReclaim  = "Reclaim license"
	ActivitySkip     = "Skip license reclamation"
	ActivityFinish   = "Complete reclamation campaign"
	ActivityCancel   = "Cancel reclamation campaign"
	ActivityRestore  = "Restore reclaimed license"
	ActivityRestored = "Restore reclamation campaign"
)

func detail(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// change runs fn on a campaign inside one command and saves it.
func (s *Service) change(ctx context.Context, t *tenant.Tenant, id, actor string, fn func(tx *tenant.Tx, c *Campaign) error) (Campaign, error) {
	var out Campaign
	err := t.Do(ctx, licensing.Op{Actor: actor, Now: s.Now()}, func(tx *tenant.Tx) error {
		c, err := Get(tx.State, id)
		if err != nil {
			return err
		}
		if err := fn(tx, &c); err != nil {
			return err
		}
		err = save(tx, &c)
		out = c
		return err
	})
	return out, err
}

func conflict(c *Campaign, what string) error {
	return allot.Errorf(allot.ECONFLICT, "Reclamation campaign %q is %s: it cannot %s.", c.ID, c.Status, what)
}

// Approve records a second administrator's approval: principalKey must
// not be the creator's (EFORBIDDEN). A campaign awaiting approval starts.
func (s *Service) Approve(ctx context.Context, t *tenant.Tenant, id, actor, principalKey string) (Campaign, error) {
	c, err := s.change(ctx, t, id, actor, func(tx *tenant.Tx, c *Campaign) error {
		if c.Status != Draft && c.Status != AwaitingApproval {
			return conflict(c, "be approved")
		}
		if !c.ApprovedAt.IsZero() {
			return allot.Errorf(allot.ECONFLICT, "Reclamation campaign %q is approved already.", c.ID)
		}
		if principalKey == c.CreatorKey {
			return allot.Errorf(allot.EFORBIDDEN, "A campaign is approved by another administrator than the one who created it.")
		}
		c.ApprovedBy, c.ApprovedAt = actor, tx.Op.Now
		tx.Audit(audit.Entry{Action: ActivityApprove, Why: c.DisplayName, Detail: detail(map[string]string{"campaignId": c.ID})})
		if c.Status == AwaitingApproval {
			s.run(tx, c)
		}
		return nil
	})
	if err == nil {
		s.poke()
	}
	return c, err
}

// StartCampaign starts a draft: it runs (the notices go out at the next
// step), or awaits approval when it requires one not yet given.
func (s *Service) StartCampaign(ctx context.Context, t *tenant.Tenant, id, actor string) (Campaign, error) {
	if err := s.canNotify(); err != nil {
		return Campaign{}, err
	}
	c, err := s.change(ctx, t, id, actor, func(tx *tenant.Tx, c *Campaign) error {
		if c.Status != Draft {
			return conflict(c, "start")
		}
		if c.Members == 0 {
			return allot.Errorf(allot.ECONFLICT, "Reclamation campaign %q has no members: there is nothing to take back.", c.ID)
		}
		c.StartedBy, c.StartedAt = actor, tx.Op.Now
		tx.Audit(audit.Entry{Action: ActivityStart, Why: c.DisplayName, Detail: detail(map[string]any{"campaignId": c.ID,
			"awaitingApproval": c.RequireApproval && c.ApprovedAt.IsZero()})})
		if c.RequireApproval && c.ApprovedAt.IsZero() {
			c.Status = AwaitingApproval
			return nil
		}
		s.run(tx, c)
		return nil
	})
	if err == nil {
		s.poke()
	}
	return c, err
}

func (s *Service) run(tx *tenant.Tx, c *Campaign) {
	c.Status = Running
	if c.StartedAt.IsZero() {
		c.StartedAt = tx.Op.Now
	}
}

func (s *Service) canNotify() error {
	switch {
	case len(s.cfg.Key) == 0:
		return allot.Errorf(allot.EINVALID, "No secret key is configured: keep links are signed with it, so set ALLOT_SECRET_KEY or pass --secret-key-file to allot serve.")
	case s.cfg.Alerts == nil:
		return allot.Errorf(allot.EUNAVAILABLE, "This server sends no mail: notices cannot go out.")
	}
	return nil
}

// Cancel stops a campaign that has not completed: nothing more is sent
// or removed and its links stop working.
func (s *Service) Cancel(ctx context.Context, t *tenant.Tenant, id, actor string) (Campaign, error) {
	return s.change(ctx, t, id, actor, func(tx *tenant.Tx, c *Campaign) error {
		if c.Status != Draft && c.Status != AwaitingApproval && c.Status != Running {
			return conflict(c, "be cancelled")
		}
		c.Status, c.CancelledBy, c.CancelledAt = Cancelled, actor, tx.Op.Now
		tx.Audit(audit.Entry{Action: ActivityCancel, Why: c.DisplayName, Detail: detail(map[string]string{"campaignId": c.ID})})
		return nil
	})
}

// Step advances every running campaign of every tenant this process acts
// for (Config.Acts).
func (s *Service) Step(ctx context.Context) error {
	s.mu.Lock()
	rt := s.rt
	s.mu.Unlock()
	if rt == nil {
		return nil
	}
	var first error
	for _, info := range rt.List() {
		t, ok := rt.Get(info.ID)
		if !ok || !s.acts(ctx, t) {
			continue
		}
		if err := s.StepTenant(ctx, t); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// acts reports whether this process steps t's campaigns: it has running
// ones (read first, so a process asks for no lease of a tenant without
// them) and Config.Acts agrees.
func (s *Service) acts(ctx context.Context, t *tenant.Tenant) bool {
	if s.cfg.Acts == nil {
		return true
	}
	running := false
	t.Read(func(st *tenant.State) {
		all, err := Campaigns(st)
		running = err != nil // a step reports the error
		for _, c := range all {
			running = running || c.Status == Running
		}
	})
	return running && s.cfg.Acts(ctx, t.ID)
}

// StepTenant advances a tenant's running campaigns: queues the notices of
// a campaign that has sent none, and ends the grace period of one whose
// time has come.
func (s *Service) StepTenant(ctx context.Context, t *tenant.Tenant) error {
	var running []Campaign
	var err error
	t.Read(func(st *tenant.State) {
		var all []Campaign
		if all, err = Campaigns(st); err != nil {
			return
		}
		for _, c := range all {
			if c.Status == Running {
				running = append(running, c)
			}
		}
	})
	if err != nil {
		return err
	}
	for _, c := range running {
		if err := s.notices(ctx, t, c); err != nil {
			return err
		}
		if err := s.reminders(ctx, t, c.ID); err != nil {
			return err
		}
		if err := s.finish(ctx, t, c.ID); err != nil {
			return err
		}
	}
	return nil
}

// notices queues the notices of a running campaign's pending members:
// first the grace period's end is fixed (one command), then each user's
// notice is queued (idempotent job ids), then the members are marked
// notified (one command). A crash in between repeats the queueing, which
// queues nothing twice.
func (s *Service) notices(ctx context.Context, t *tenant.Tenant, c Campaign) error {
	var pending []Member
	var err error
	t.Read(func(st *tenant.State) {
		var ms []Member
		ms, err = Members(st, c.ID)
		for _, m := range ms {
			if m.State == MemberPending {
				pending = append(pending, m)
			}
		}
	})
	if err != nil || len(pending) == 0 {
		return err
	}
	if err := s.canNotify(); err != nil {
		return err
	}
	if c.NoticesAt.IsZero() {
		c, err = s.change(ctx, t, c.ID, actorOf(&c), func(tx *tenant.Tx, c *Campaign) error {
			if c.Status != Running || !c.NoticesAt.IsZero() {
				return nil
			}
			c.NoticesAt = tx.Op.Now.Truncate(time.Second)
			c.GraceEndsAt = c.NoticesAt.Add(time.Duration(c.GraceDays) * 24 * time.Hour)
			return nil
		})
		if err != nil || c.Status != Running {
			return err
		}
	}
	groups, users := byUser(pending)
	sent, unsent := 0, 0
	for _, uid := range users {
		ms := groups[uid]
		msg, ok := s.notice(t.ID, &c, ms, false)
		if !ok {
			unsent++
			continue
		}
		if _, err := s.cfg.Alerts.QueueMail(ctx, t.ID, "reclaim."+c.ID+"."+uid, msg, s.Now()); err != nil {
			return err
		}
		sent++
	}
	_, err = s.change(ctx, t, c.ID, actorOf(&c), func(tx *tenant.Tx, c *Campaign) error {
		if c.Status != Running {
			return nil
		}
		n := 0
		for _, m := range pending {
			var cur Member
			key := memberKey(c.ID, m.UserID, m.SKUID)
			if ok, _ := tx.State.Decode(KindMember, key, &cur); !ok || cur.State != MemberPending {
				continue
			}
			cur.State = MemberNotified
			if cur.Mail == "" && cur.ManagerMail == "" {
				cur.Note = "no email address: no notice was sent"
			}
			if err := tx.Put(KindMember, key, cur); err != nil {
				return err
			}
			n++
		}
		tx.Audit(audit.Entry{Action: ActivityNotices, Why: c.DisplayName, Detail: detail(map[string]any{"campaignId": c.ID,
			"members": n, "notices": sent, "withoutAddress": unsent, "graceEnds": c.GraceEndsAt})})
		return nil
	})
	return err
}

// byUser groups members by user, users sorted.
func byUser(ms []Member) (map[string][]Member, []string) {
	out := map[string][]Member{}
	var users []string
	for _, m := range ms {
		if out[m.UserID] == nil {
			users = append(users, m.UserID)
		}
		out[m.UserID] = append(out[m.UserID], m)
	}
	sort.Strings(users)
	return out, users
}

// reminders queues the reminders of a running campaign once its reminder
// time (ReminderDaysBefore before the grace period's end) has come and
// before the end: one per user whose members are still notified (not
// kept). As with the notices, the reminders are queued under idempotent
// job ids ("remind.<campaign>.<user>") before the campaign records them
// (RemindersAt, each member's RemindedAt, audited) in one command, so a
// crash in between queues nothing twice and a restart sends none again.
func (s *Service) reminders(ctx context.Context, t *tenant.Tenant, id string) error {
	var c Campaign
	var due []Member
	var err error
	t.Read(func(st *tenant.State) {
		if c, err = Get(st, id); err != nil {
			return
		}
		var ms []Member
		ms, err = Members(st, id)
		for _, m := range ms {
			if m.State == MemberNotified {
				due = append(due, m)
			}
		}
	})
	now := s.Now()
	at := c.reminderAt()
	if err != nil || c.Status != Running || at.IsZero() || !c.RemindersAt.IsZero() || now.Before(at) || !now.Before(c.GraceEndsAt) {
		return err
	}
	if err := s.canNotify(); err != nil {
		return err
	}
	groups, users := byUser(due)
	reminded := map[string]bool{}
	for _, uid := range users {
		msg, ok := s.notice(t.ID, &c, groups[uid], true)
		if !ok {
			continue
		}
		if _, err := s.cfg.Alerts.QueueMail(ctx, t.ID, "remind."+c.ID+"."+uid, msg, now); err != nil {
			return err
		}
		reminded[uid] = true
	}
	_, err = s.change(ctx, t, c.ID, actorOf(&c), func(tx *tenant.Tx, c *Campaign) error {
		if c.Status != Running || !c.RemindersAt.IsZero() {
			return nil
		}
		c.RemindersAt = tx.Op.Now
		for _, m := range due {
			var cur Member
			key := memberKey(c.ID, m.UserID, m.SKUID)
			if ok, _ := tx.State.Decode(KindMember, key, &cur); !ok || cur.State != MemberNotified || !reminded[m.UserID] {
				continue
			}
			cur.RemindedAt = tx.Op.Now
			if err := tx.Put(KindMember, key, cur); err != nil {
				return err
			}
		}
		tx.Audit(audit.Entry{Action: ActivityRemind, Why: c.DisplayName, Detail: detail(map[string]any{"campaignId": c.ID,
			"reminders": len(reminded), "withoutAddress": len(users) - len(reminded), "graceEnds": c.GraceEndsAt})})
		return nil
	})
	return err
}

// finish ends a running campaign whose grace period is over: each user
// who did not keep a license loses it (one command per user, so one
// refusal does not hold the others back), then the campaign completes.
func (s *Service) finish(ctx context.Context, t *tenant.Tenant, id string) error {
	var c Campaign
	var ms []Member
	var err error
	t.Read(func(st *tenant.State) {
		if c, err = Get(st, id); err == nil {
			ms, err = Members(st, id)
		}
	})
	now := s.Now()
	if err != nil || c.Status != Running || c.NoticesAt.IsZero() || now.Before(c.GraceEndsAt) {
		return err
	}
	// Each user's notified products: a user's command decodes their
	// members by key (a campaign may have 50,000).
	var users []string
	skus := map[string][]string{}
	for _, m := range ms {
		if m.State != MemberNotified {
			continue
		}
		if skus[m.UserID] == nil {
			users = append(users, m.UserID)
		}
		skus[m.UserID] = append(skus[m.UserID], m.SKUID)
	}
	for _, uid := range users {
		err := t.Do(ctx, licensing.Op{Actor: actorOf(&c), Now: s.Now()}, func(tx *tenant.Tx) error {
			return reclaimUser(tx, id, uid, skus[uid])
		})
		if err == nil {
			continue
		}
		if code := allot.ErrorCode(err); code != allot.EINVALID && code != allot.ECONFLICT && code != allot.ENOTFOUND {
			return err // the store: the step runs again
		}
		// The engine refused (a rule, no seat for the cheaper product):
		// the user keeps the license, said so.
		note := "not removed: " + allot.ErrorMessage(err)
		if err := t.Do(ctx, licensing.Op{Actor: actorOf(&c), Now: s.Now()}, func(tx *tenant.Tx) error {
			return skipUser(tx, id, uid, skus[uid], note)
		}); err != nil {
			return err
		}
	}
	_, err = s.change(ctx, t, id, actorOf(&c), func(tx *tenant.Tx, c *Campaign) error {
		if c.Status != Running {
			return nil
		}
		c.Status, c.CompletedAt = Completed, tx.Op.Now
		ms, err := Members(tx.State, c.ID)
		if err != nil {
			return err
		}
		k := counts(ms)
		tx.Audit(audit.Entry{Action: ActivityFinish, Why: c.DisplayName, Detail: detail(map[string]any{"campaignId": c.ID,
			"removed": k.Removed, "kept": k.Kept, "skipped": k.Skipped})})
		return nil
	})
	return err
}

// userMembers returns a user's members of a campaign in a state.
func userMembers(st *tenant.State, campaignID, userID, state string) []Member {
	var out []Member
	prefix := campaignID + "/" + userID + "/"
	for _, id := range st.IDs(KindMember) {
		if len(id) <= len(prefix) || id[:len(prefix)] != prefix {
			continue
		}
		var m Member
		if ok, _ := st.Decode(KindMember, id, &m); ok && m.State == state {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKUID < out[j].SKUID })
	return out
}

// notifiedMembers returns a user's members of a campaign, of the products
// skus, that are still notified in st (decoded by key).
func notifiedMembers(st *tenant.State, campaignID, userID string, skus []string) []Member {
	var out []Member
	for _, sku := range skus {
		var m Member
		if ok, _ := st.Decode(KindMember, memberKey(campaignID, userID, sku), &m); ok && m.State == MemberNotified {
			out = append(out, m)
		}
	}
	return out
}

// reclaimUser removes (or downgrades) the licenses of a user's notified
// members of the products skus, inside a command, when the campaign still runs. Each license
// is removed as it is now if it is still as the campaign found it: direct
// sources of the product and no group source; otherwise the member is
// skipped with the reason.
func reclaimUser(tx *tenant.Tx, campaignID, userID string, skus []string) error {
	c, err := Get(tx.State, campaignID)
	if err != nil || c.Status != Running {
		return err
	}
	e := tx.Engine
	for _, m := range notifiedMembers(tx.State, campaignID, userID, skus) {
		key := memberKey(c.ID, m.UserID, m.SKUID)
		skip := func(note string) error {
			m.State, m.Note = MemberSkipped, note
			tx.Audit(audit.Entry{Action: ActivitySkip, UserID: m.UserID, SKUID: m.SKUID, Why: "reclamation campaign " + c.DisplayName, Detail: note})
			return tx.Put(KindMember, key, m)
		}
		if _, ok := e.User(m.UserID); !ok {
			if err := skip("the user no longer exists"); err != nil {
				return err
			}
			continue
		}
		if g := groupSource(e, m.UserID, m.SKUID); g != "" {
			if err := skip("now licensed through group " + g + " as well"); err != nil {
				return err
			}
			continue
		}
		var now []licensing.LicenseSource
		for _, src := range e.DirectLicenses(m.UserID) {
			if src.SKUID == m.SKUID && slices.ContainsFunc(m.Sources, func(f licensing.LicenseSource) bool { return f.AllotmentID == src.AllotmentID }) {
				src.DisabledPlans = slices.Clone(src.DisabledPlans)
				now = append(now, src)
			}
		}
		if len(now) == 0 {
			if err := skip("the license was removed already"); err != nil {
				return err
			}
			continue
		}
		for _, src := range now {
			var err error
			switch {
			case src.AllotmentID != "":
				err = e.RemoveFromAllotment(tx.Op, src.AllotmentID, m.UserID)
			case c.Action == Downgrade:
				var add []licensing.AssignedLicense
				if !hasDirect(e, m.UserID, c.DowngradeSKUID) {
					add = []licensing.AssignedLicense{{SKUID: c.DowngradeSKUID, DisabledPlans: []string{}}}
					m.AddedSKUID = c.DowngradeSKUID
				}
				err = e.AssignUserLicenses(tx.Op, m.UserID, add, []string{m.SKUID})
			default:
				err = e.AssignUserLicenses(tx.Op, m.UserID, nil, []string{m.SKUID})
			}
			if err != nil {
				return err
			}
		}
		m.State, m.Removed, m.RemovedAt = MemberRemoved, now, tx.Op.Now
		tx.Audit(audit.Entry{Action: ActivityReclaim, UserID: m.UserID, SKUID: m.SKUID, Why: "reclamation campaign " + c.DisplayName,
			Detail: detail(map[string]any{"campaignId": c.ID, "action": c.Action, "removed": now, "added": m.AddedSKUID})})
		if err := tx.Put(KindMember, key, m); err != nil {
			return err
		}
	}
	return nil
}

// skipUser marks a user's notified members of the products skus skipped
// with a note.
func skipUser(tx *tenant.Tx, campaignID, userID string, skus []string, note string) error {
	c, err := Get(tx.State, campaignID)
	if err != nil || c.Status != Running {
		return err
	}
	for _, m := range notifiedMembers(tx.State, campaignID, userID, skus) {
		m.State, m.Note = MemberSkipped, note
		tx.Audit(audit.Entry{Action: ActivitySkip, UserID: m.UserID, SKUID: m.SKUID, Why: "reclamation campaign " + c.DisplayName, Detail: note})
		if err := tx.Put(KindMember, memberKey(c.ID, m.UserID, m.SKUID), m); err != nil {
			return err
		}
	}
	return nil
}

func groupSource(e *licensing.Engine, userID, skuID string) string {
	for _, l := range e.LicensesOf(userID, skuID) {
		for _, src := range l.Sources {
			if src.AssignedByGroup != "" {
				return src.AssignedByGroup
			}
		}
	}
	return ""
}

func hasDirect(e *licensing.Engine, userID, skuID string) bool {
	for _, src := range e.DirectLicenses(userID) {
		if src.SKUID == skuID && src.AllotmentID == "" {
			return true
		}
	}
	return false
}

// Restore brings back the licenses a completed campaign removed, each as
// it was (product, disabled plans, allotment), and removes the product a
// downgrade assigned; one command per user. A license the engine cannot
// give back (no free seat: restored claims are new claims, never beyond
// the seats) is noted on its member (restoreFailed). The campaign becomes
// restored.
func (s *Service) Restore(ctx context.Context, t *tenant.Tenant, id, actor string) (Campaign, error) {
	var c Campaign
	var ms []Member
	var err error
	t.Read(func(st *tenant.State) {
		if c, err = Get(st, id); err == nil {
			ms, err = Members(st, id)
		}
	})
	if err != nil {
		return c, err
	}
	if c.Status != Completed {
		return c, conflict(&c, "be restored (only a completed campaign can)")
	}
	for _, m := range ms {
		if m.State != MemberRemoved {
			continue
		}
		err := t.Do(ctx, licensing.Op{Actor: actor, Now: s.Now()}, func(tx *tenant.Tx) error { return restoreMember(tx, c, m.UserID, m.SKUID) })
		if err == nil {
			continue
		}
		if code := allot.ErrorCode(err); code != allot.EINVALID && code != allot.ECONFLICT && code != allot.ENOTFOUND {
			return c, err
		}
		note := "not restored: " + allot.ErrorMessage(err)
		if err := t.Do(ctx, licensing.Op{Actor: actor, Now: s.Now()}, func(tx *tenant.Tx) error {
			var cur Member
			key := memberKey(c.ID, m.UserID, m.SKUID)
			if ok, _ := tx.State.Decode(KindMember, key, &cur); !ok || cur.State != MemberRemoved {
				return nil
			}
			cur.State, cur.Note = MemberRestoreFailed, note
			return tx.Put(KindMember, key, cur)
		}); err != nil {
			return c, err
		}
	}
	return s.change(ctx, t, id, actor, func(tx *tenant.Tx, c *Campaign) error {
		if c.Status != Completed {
			return conflict(c, "be restored")
		}
		c.Status, c.RestoredBy, c.RestoredAt = Restored, actor, tx.Op.Now
		ms, err := Members(tx.State, c.ID)
		if err != nil {
			return err
		}
		k := counts(ms)
		tx.Audit(audit.Entry{Action: ActivityRestored, Why: c.DisplayName, Detail: detail(map[string]any{"campaignId": c.ID,
			"restored": k.Restored, "failed": k.RestoreFailed})})
		return nil
	})
}

// restoreMember gives one removed member's licenses back (a command).
func restoreMember(tx *tenant.Tx, c Campaign, userID, skuID string) error {
	var m Member
	key := memberKey(c.ID, userID, skuID)
	if ok, _ := tx.State.Decode(KindMember, key, &m); !ok || m.State != MemberRemoved {
		return nil
	}
	e := tx.Engine
	for _, src := range m.Removed {
		var err error
		if src.AllotmentID != "" {
			err = e.AssignThroughAllotment(tx.Op, src.AllotmentID, m.UserID, src.DisabledPlans)
		} else {
			var remove []string
			if m.AddedSKUID != "" && hasDirect(e, m.UserID, m.AddedSKUID) {
				remove = []string{m.AddedSKUID}
			}
			err = e.AssignUserLicenses(tx.Op, m.UserID, []licensing.AssignedLicense{{SKUID: src.SKUID, DisabledPlans: nonNil(src.DisabledPlans)}}, remove)
		}
		if err != nil {
			return err
		}
	}
	m.State, m.RestoredAt, m.Note = MemberRestored, tx.Op.Now, ""
	tx.Audit(audit.Entry{Action: ActivityRestore, UserID: m.UserID, SKUID: m.SKUID, Why: "reclamation campaign " + c.DisplayName,
		Detail: detail(map[string]any{"campaignId": c.ID, "restored": m.Removed, "removed": m.AddedSKUID})})
	return tx.Put(KindMember, key, m)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// LinkFor returns the keep link of a user in a running campaign whose
// notices are out ("" otherwise).
func (s *Service) LinkFor(tenantID string, c *Campaign, userID string) string {
	if len(s.cfg.Key) == 0 || c.GraceEndsAt.IsZero() {
		return ""
	}
	tok := Sign(s.cfg.Key, Token{TenantID: tenantID, CampaignID: c.ID, UserID: userID, Expires: c.GraceEndsAt})
	return s.cfg.BaseURL + KeepPath + "?token=" + tok
}

// KeepPath is the keep link's path (a public route: the token is the
// authority).
const KeepPath = "/allot/v1/reclamation/keep"

// Resolve checks a keep link's token at the service's clock and returns
// its tenant, campaign and the user's members in it: 4xx errors
// (ErrBadLink, ErrExpiredLink, ENOTFOUND) for anything else.
func (s *Service) Resolve(ctx context.Context, token string) (*tenant.Tenant, Campaign, []Member, error) {
	tok, err := Verify(s.cfg.Key, token, s.Now())
	if err != nil {
		return nil, Campaign{}, nil, err
	}
	s.mu.Lock()
	rt := s.rt
	s.mu.Unlock()
	if rt == nil {
		return nil, Campaign{}, nil, allot.Errorf(allot.EUNAVAILABLE, "Not ready.")
	}
	t, ok := rt.Get(tok.TenantID)
	if !ok {
		return nil, Campaign{}, nil, ErrBadLink
	}
	var c Campaign
	var ms []Member
	t.Read(func(st *tenant.State) {
		if c, err = Get(st, tok.CampaignID); err != nil {
			return
		}
		for _, state := range []string{MemberPending, MemberNotified, MemberKept, MemberRemoved, MemberSkipped} {
			ms = append(ms, userMembers(st, c.ID, tok.UserID, state)...)
		}
	})
	if err != nil {
		return nil, Campaign{}, nil, ErrBadLink
	}
	if c.Status != Running || !c.GraceEndsAt.Equal(tok.Expires) || len(ms) == 0 {
		return nil, Campaign{}, nil, ErrExpiredLink
	}
	return t, c, ms, nil
}

// Keep records, through a keep link, that its user keeps their licenses in
// the campaign (idempotent: keeping again changes nothing). It answers the
// user's members afterwards.
func (s *Service) Keep(ctx context.Context, token string) (Campaign, []Member, error) {
	t, c, ms, err := s.Resolve(ctx, token)
	if err != nil {
		return c, nil, err
	}
	userID := ms[0].UserID
	var out []Member
	err = t.Do(ctx, licensing.Op{Actor: "user " + ms[0].UserPrincipalName + " (keep link)", Now: s.Now()}, func(tx *tenant.Tx) error {
		cur, err := Get(tx.State, c.ID)
		if err != nil {
			return err
		}
		if cur.Status != Running || !tx.Op.Now.Before(cur.GraceEndsAt) {
			return ErrExpiredLink
		}
		changed := 0
		for _, state := range []string{MemberPending, MemberNotified} {
			for _, m := range userMembers(tx.State, c.ID, userID, state) {
				m.State, m.KeptAt = MemberKept, tx.Op.Now
				tx.Audit(audit.Entry{Action: ActivityKeep, UserID: m.UserID, SKUID: m.SKUID, Why: "reclamation campaign " + cur.DisplayName,
					Detail: detail(map[string]string{"campaignId": cur.ID})})
				if err := tx.Put(KindMember, memberKey(c.ID, m.UserID, m.SKUID), m); err != nil {
					return err
				}
				changed++
			}
		}
		for _, state := range []string{MemberKept, MemberRemoved, MemberSkipped} {
			out = append(out, userMembers(tx.State, c.ID, userID, state)...)
		}
		if changed == 0 {
			return nil
		}
		return save(tx, &cur)
	})
	return c, out, err
}

// notice is the message of a user's members, the notice or the reminder
// (false: the member has no address).
func (s *Service) notice(tenantID string, c *Campaign, ms []Member, reminder bool) (alert.Mail, bool) {
	to, cc := ms[0].Mail, ms[0].ManagerMail
	if to == "" {
		to, cc = cc, ""
	}
	if to == "" {
		return alert.Mail{}, false
	}
	m := alert.Mail{To: []string{to}}
	if cc != "" && cc != to {
		m.Cc = []string{cc}
	}
	m.Subject, m.Text, m.HTML = noticeBodies(c, ms, s.LinkFor(tenantID, c, ms[0].UserID), reminder)
	return m, true
}
